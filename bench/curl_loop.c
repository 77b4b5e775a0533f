/* bench/curl_loop.c: the floor of sequential creates over libcurl, for make
 * bench to measure c:create against. One easy handle sends the same POST N
 * times over one connection (headers and options set once, the answers
 * discarded) and prints the seconds the loop took. It asks for compressed
 * answers as the module does (CURLOPT_ACCEPT_ENCODING ""), so that the
 * same bytes go out. Not part of the module.
 *
 *   curl_loop URL N BODY_FILE ["Name: value" ...]
 *
 * Exits 1 when a request fails or is not answered 2xx. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

static size_t discard(char *data, size_t size, size_t nmemb, void *ud) {
  (void)data;
  (void)ud;
  return size * nmemb;
}

static char *read_file(const char *path, long *len) {
  FILE *f = fopen(path, "rb");
  char *text;
  if (!f) {
    return NULL;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (*len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  text = malloc((size_t)*len + 1);
  if (text && fread(text, 1, (size_t)*len, f) != (size_t)*len) {
    free(text);
    text = NULL;
  }
  fclose(f);
  return text;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  struct curl_slist *headers = NULL;
  long n, len = 0, status = 0;
  char *body;
  CURL *c;
  double t0;
  int failed = 0;
  if (argc < 4 || (n = strtol(argv[2], NULL, 10)) < 1) {
    fprintf(stderr, "usage: curl_loop URL N BODY_FILE [\"Name: value\" ...]\n");
    return 2;
  }
  body = read_file(argv[3], &len);
  if (!body) {
    fprintf(stderr, "curl_loop: cannot read %s\n", argv[3]);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  c = curl_easy_init();
  headers = curl_slist_append(headers, "Expect:");
  for (int i = 4; i < argc; i++) {
    headers = curl_slist_append(headers, argv[i]);
  }
  curl_easy_setopt(c, CURLOPT_URL, argv[1]);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, len);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  t0 = now();
  for (long i = 0; i < n && !failed; i++) {
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status < 200 || status > 299) {
      fprintf(stderr, "curl_loop: request %ld: %s, HTTP %ld\n", i + 1, curl_easy_strerror(rc),
              status);
      failed = 1;
    }
  }
  if (!failed) {
    printf("%.6f\n", now() - t0);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  curl_global_cleanup();
  free(body);
  return failed;
}
