std = "max"
max_line_length = 120
files["tests"] = { std = "+busted" }
files["tests/emulator"] = { globals = { "ngx" } }
exclude_files = { "build" }
