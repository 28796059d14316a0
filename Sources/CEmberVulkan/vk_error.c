// Per-thread error text, so that concurrent callers each read their own failure.
#include <stdio.h>
#include <string.h>
#include "vk_internal.h"

static _Thread_local char last_error[512];

void ember_vk_set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

void ember_vk_copy_error(char *err, size_t err_len) {
    if (err && err_len > 0) snprintf(err, err_len, "%s", last_error);
}

const char *ember_vk_last_error(void) { return last_error; }
