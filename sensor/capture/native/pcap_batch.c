/*
 * otwatch pcap_batch: a small N-API binding to libpcap that hands packets to JavaScript in batches.
 *
 * PASSIVE BY CONSTRUCTION: this file never calls pcap_inject() or pcap_sendpacket() and exports no way to send.
 * The sensor only listens on SPAN/TAP ports; a send path would be a way to disturb a control network.
 *
 * Why it exists: the `cap` package calls into JS once per packet, drops libpcap's timestamp and has no pcap_stats(),
 * so at 100k pps it loses packets in the kernel ring and cannot even see that loss. Here one async call fills a whole
 * batch (data bytes back to back + per-packet offset, caplen, origlen, ts seconds, ts nanoseconds) on a libuv
 * thread-pool thread, and pcap_stats() is exposed.
 *
 * Exports (all take the handle object returned by open()):
 *   open(device, snaplen, promisc, bufferSize, timeoutMs, immediate)
 *       -> handle; throws Error with .code NO_DEVICE | PERMISSION | OPEN_FAILED and libpcap's message.
 *          handle.warning holds pcap_activate's warning text, if any.
 *   setFilter(handle, expr)      compiles and installs a BPF filter; throws Error .code BAD_FILTER with pcap_geterr().
 *   datalink(handle)             DLT_* value of the interface.
 *   nanoTimestamps(handle)       true when timestamps have nanosecond precision (else microsecond, scaled by us).
 *   readBatch(handle, data, offset, caplen, origlen, tsSec, tsNsec) -> Promise<count>
 *       data: Uint8Array; offset, caplen, origlen, tsNsec: Int32Array; tsSec: Float64Array. Fills at most as many
 *       packets as the shortest per-packet array holds and stops early when `data` has less than snaplen bytes left
 *       (so a packet never has to be split or held back). Only one read may be in flight per handle.
 *   stats(handle)                { recv, drop, ifdrop } from pcap_stats().
 *   close(handle)                idempotent; during a read it breaks the loop and the pcap_t is closed when the
 *                                read completes (never under the worker's feet).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  pcap_t *p;
  char device[256];
  int snaplen;
  int nano;       /* timestamps are nanoseconds (else microseconds) */
  int busy;       /* a readBatch is in flight (main thread only) */
  int closed;     /* close() was called (main thread only) */
  int closing;    /* set by close() on the main thread, read by the worker: __atomic accesses only */
} Handle;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  Handle *h;
  napi_ref refs[7]; /* handle object + the six JS arrays: kept alive while the worker writes into them */
  uint8_t *data;
  size_t dataLen;
  int32_t *offset;
  int32_t *caplen;
  int32_t *origlen;
  double *tsSec;
  int32_t *tsNsec;
  int max;
  /* results, written by the worker */
  int count;
  size_t used;
  int full; /* we called pcap_breakloop ourselves because data could not take another snaplen-sized packet */
  int rc;
  char err[PCAP_ERRBUF_SIZE];
} ReadJob;

#define CHECK(env, call)                                                                                               \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error((env), "NAPI_FAILED", "pcap_batch: N-API call failed: " #call);                                \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

static napi_value throw_coded(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Handle *h = (Handle *)data;
  /* A read in flight holds a strong reference to the handle object, so busy is always 0 here. */
  if (h->p != NULL) pcap_close(h->p);
  free(h);
}

static Handle *get_handle(napi_env env, napi_value obj) {
  void *data = NULL;
  if (napi_unwrap(env, obj, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "BAD_HANDLE", "pcap_batch: not a capture handle");
    return NULL;
  }
  return (Handle *)data;
}

static Handle *get_open_handle(napi_env env, napi_value obj) {
  Handle *h = get_handle(env, obj);
  if (h == NULL) return NULL;
  if (h->closed || h->p == NULL) {
    napi_throw_error(env, "CLOSED", "pcap_batch: capture handle is closed");
    return NULL;
  }
  return h;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t len) {
  size_t got = 0;
  if (napi_get_value_string_utf8(env, v, buf, len, &got) != napi_ok) return 0;
  return got < len - 1;
}

/* open(device, snaplen, promisc, bufferSize, timeoutMs, immediate) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_coded(env, "BAD_ARGS", "open(device, snaplen, promisc, bufferSize, timeoutMs, immediate)");
  char device[256];
  if (!get_string(env, argv[0], device, sizeof device)) return throw_coded(env, "BAD_ARGS", "device name too long");
  int32_t snaplen = 0, bufferSize = 0, timeoutMs = 0;
  bool promisc = true, immediate = false;
  CHECK(env, napi_get_value_int32(env, argv[1], &snaplen));
  CHECK(env, napi_get_value_bool(env, argv[2], &promisc));
  CHECK(env, napi_get_value_int32(env, argv[3], &bufferSize));
  CHECK(env, napi_get_value_int32(env, argv[4], &timeoutMs));
  CHECK(env, napi_get_value_bool(env, argv[5], &immediate));

  char errbuf[PCAP_ERRBUF_SIZE];
  errbuf[0] = '\0';
  pcap_t *p = pcap_create(device, errbuf);
  if (p == NULL) return throw_coded(env, "OPEN_FAILED", errbuf[0] ? errbuf : "pcap_create failed");
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, promisc ? 1 : 0);
  pcap_set_buffer_size(p, bufferSize);
  /* The timeout bounds how long libpcap holds packets back before handing them over (TPACKET_V3 block retire
   * time); immediate mode hands each packet over at once (libpcap then uses TPACKET_V2). Neither guarantees a
   * return without traffic on Linux, which is why close() uses pcap_breakloop(). */
  pcap_set_timeout(p, timeoutMs);
  if (immediate) pcap_set_immediate_mode(p, 1);
  int nano = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0;
  int rc = pcap_activate(p);
  if (rc < 0) {
    char msg[PCAP_ERRBUF_SIZE + 64];
    const char *detail = pcap_geterr(p);
    if (detail == NULL || detail[0] == '\0') detail = pcap_statustostr(rc);
    snprintf(msg, sizeof msg, "%s", detail);
    const char *code = "OPEN_FAILED";
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE) code = "NO_DEVICE";
    else if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED) code = "PERMISSION";
    /* pcap_statustostr gives a generic text when pcap_geterr is empty; both are copied before closing. */
    pcap_close(p);
    return throw_coded(env, code, msg);
  }
  Handle *h = (Handle *)calloc(1, sizeof(Handle));
  if (h == NULL) {
    pcap_close(p);
    return throw_coded(env, "OPEN_FAILED", "out of memory");
  }
  h->p = p;
  memcpy(h->device, device, sizeof h->device);
  h->snaplen = pcap_snapshot(p);
  h->nano = nano && pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;

  napi_value obj;
  CHECK(env, napi_create_object(env, &obj));
  if (napi_wrap(env, obj, h, handle_finalize, NULL, NULL) != napi_ok) {
    pcap_close(p);
    free(h);
    return throw_coded(env, "NAPI_FAILED", "napi_wrap failed");
  }
  if (rc > 0) {
    napi_value w;
    const char *wtext = pcap_geterr(p);
    if (wtext == NULL || wtext[0] == '\0') wtext = pcap_statustostr(rc);
    CHECK(env, napi_create_string_utf8(env, wtext, NAPI_AUTO_LENGTH, &w));
    CHECK(env, napi_set_named_property(env, obj, "warning", w));
  }
  return obj;
}

/* setFilter(handle, expr) */
static napi_value js_set_filter(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_coded(env, "BAD_ARGS", "setFilter(handle, expr)");
  Handle *h = get_open_handle(env, argv[0]);
  if (h == NULL) return NULL;
  if (h->busy) return throw_coded(env, "BUSY", "setFilter: a read is in flight");
  size_t len = 0;
  CHECK(env, napi_get_value_string_utf8(env, argv[1], NULL, 0, &len));
  char *expr = (char *)malloc(len + 1);
  if (expr == NULL) return throw_coded(env, "BAD_FILTER", "out of memory");
  if (napi_get_value_string_utf8(env, argv[1], expr, len + 1, &len) != napi_ok) {
    free(expr);
    return throw_coded(env, "BAD_ARGS", "filter must be a string");
  }
  /* The netmask only matters for the `ip broadcast` primitive; an interface without IPv4 (a mirror port) has none. */
  bpf_u_int32 net = 0, mask = 0;
  char errbuf[PCAP_ERRBUF_SIZE];
  if (pcap_lookupnet(h->device, &net, &mask, errbuf) != 0) mask = PCAP_NETMASK_UNKNOWN;
  struct bpf_program prog;
  if (pcap_compile(h->p, &prog, expr, 1, mask) != 0) {
    free(expr);
    return throw_coded(env, "BAD_FILTER", pcap_geterr(h->p));
  }
  free(expr);
  int rc = pcap_setfilter(h->p, &prog);
  pcap_freecode(&prog);
  if (rc != 0) return throw_coded(env, "BAD_FILTER", pcap_geterr(h->p));
  return NULL;
}

static napi_value js_datalink(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_coded(env, "BAD_ARGS", "datalink(handle)");
  Handle *h = get_open_handle(env, argv[0]);
  if (h == NULL) return NULL;
  napi_value out;
  CHECK(env, napi_create_int32(env, pcap_datalink(h->p), &out));
  return out;
}

static napi_value js_nano(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_coded(env, "BAD_ARGS", "nanoTimestamps(handle)");
  Handle *h = get_open_handle(env, argv[0]);
  if (h == NULL) return NULL;
  napi_value out;
  CHECK(env, napi_get_boolean(env, h->nano != 0, &out));
  return out;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_coded(env, "BAD_ARGS", "stats(handle)");
  Handle *h = get_open_handle(env, argv[0]);
  if (h == NULL) return NULL;
  /* On Linux this is a getsockopt(PACKET_STATISTICS) plus the interface drop counter: it does not touch the ring
   * the worker reads, so it is safe while a read is in flight. */
  struct pcap_stat st;
  memset(&st, 0, sizeof st);
  if (pcap_stats(h->p, &st) != 0) return throw_coded(env, "STATS_FAILED", pcap_geterr(h->p));
  napi_value out, v;
  CHECK(env, napi_create_object(env, &out));
  CHECK(env, napi_create_double(env, (double)st.ps_recv, &v));
  CHECK(env, napi_set_named_property(env, out, "recv", v));
  CHECK(env, napi_create_double(env, (double)st.ps_drop, &v));
  CHECK(env, napi_set_named_property(env, out, "drop", v));
  CHECK(env, napi_create_double(env, (double)st.ps_ifdrop, &v));
  CHECK(env, napi_set_named_property(env, out, "ifdrop", v));
  return out;
}

/* Worker thread: called by pcap_dispatch for each packet. Copies it into the JS buffers. */
static void on_packet(u_char *user, const struct pcap_pkthdr *hdr, const u_char *bytes) {
  ReadJob *job = (ReadJob *)user;
  int i = job->count;
  size_t len = hdr->caplen;
  /* Cannot happen (dispatch is bounded by job->max, and we stop before data has less than snaplen left), but a
   * packet that does not fit is counted as never delivered rather than written out of bounds. */
  if (i >= job->max || job->used + len > job->dataLen) return;
  memcpy(job->data + job->used, bytes, len);
  job->offset[i] = (int32_t)job->used;
  job->caplen[i] = (int32_t)len;
  job->origlen[i] = (int32_t)hdr->len;
  job->tsSec[i] = (double)hdr->ts.tv_sec;
  job->tsNsec[i] = (int32_t)(job->h->nano ? hdr->ts.tv_usec : hdr->ts.tv_usec * 1000);
  job->used += len;
  job->count = i + 1;
  if (job->dataLen - job->used < (size_t)job->h->snaplen && job->count < job->max) {
    /* The next packet might not fit. Stop this dispatch after this packet (libpcap checks the flag after each
     * callback); the rest stays in the kernel ring for the next batch. Only happens when batches fill by bytes. */
    job->full = 1;
    pcap_breakloop(job->h->p);
  }
}

static void read_execute(napi_env env, void *data) {
  (void)env;
  ReadJob *job = (ReadJob *)data;
  if (__atomic_load_n(&job->h->closing, __ATOMIC_ACQUIRE)) return;
  /* Blocks until packets arrive (or the timeout / pcap_breakloop from close()), then takes what the ring holds, up
   * to job->max packets. */
  int rc = pcap_dispatch(job->h->p, job->max, on_packet, (u_char *)job);
  if (rc == PCAP_ERROR) {
    job->rc = rc;
    snprintf(job->err, sizeof job->err, "%s", pcap_geterr(job->h->p));
  }
  /* PCAP_ERROR_BREAK: our own "batch full" break or close(); the packets copied so far are good either way. */
}

static void read_complete(napi_env env, napi_status status, void *data) {
  ReadJob *job = (ReadJob *)data;
  Handle *h = job->h;
  h->busy = 0;
  if (h->closed && h->p != NULL) {
    /* close() was called during the read: it is now safe to free the pcap_t. */
    pcap_close(h->p);
    h->p = NULL;
  }
  napi_value result;
  if (status != napi_ok) {
    napi_value msg, err;
    napi_create_string_utf8(env, "pcap_batch: read cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, job->deferred, err);
  } else if (job->rc == PCAP_ERROR && !h->closed) {
    napi_value msg, code, err;
    napi_create_string_utf8(env, job->err, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, "READ_FAILED", NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_reject_deferred(env, job->deferred, err);
  } else {
    napi_create_int32(env, job->count, &result);
    napi_resolve_deferred(env, job->deferred, result);
  }
  for (int i = 0; i < 7; i++) {
    if (job->refs[i] != NULL) napi_delete_reference(env, job->refs[i]);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static int typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **ptr, size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off = 0;
  if (napi_get_typedarray_info(env, v, &type, len, ptr, &ab, &off) != napi_ok) return 0;
  return type == want;
}

/* readBatch(handle, data, offset, caplen, origlen, tsSec, tsNsec) -> Promise<count> */
static napi_value js_read_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return throw_coded(env, "BAD_ARGS", "readBatch(handle, data, offset, caplen, origlen, tsSec, tsNsec)");
  Handle *h = get_open_handle(env, argv[0]);
  if (h == NULL) return NULL;
  if (h->busy) return throw_coded(env, "BUSY", "readBatch: a read is already in flight on this handle");
  ReadJob *job = (ReadJob *)calloc(1, sizeof(ReadJob));
  if (job == NULL) return throw_coded(env, "NO_MEMORY", "out of memory");
  size_t n[6];
  void *ptr[6];
  static const napi_typedarray_type types[6] = {napi_uint8_array, napi_int32_array, napi_int32_array,
                                                 napi_int32_array, napi_float64_array, napi_int32_array};
  for (int i = 0; i < 6; i++) {
    if (!typed_array(env, argv[i + 1], types[i], &ptr[i], &n[i])) {
      free(job);
      return throw_coded(env, "BAD_ARGS",
                         "readBatch: expects Uint8Array data, Int32Array offset/caplen/origlen, Float64Array tsSec, "
                         "Int32Array tsNsec");
    }
  }
  if (n[0] < (size_t)h->snaplen) {
    free(job);
    return throw_coded(env, "BAD_ARGS", "readBatch: data must hold at least snaplen bytes");
  }
  size_t max = n[1];
  for (int i = 2; i < 6; i++) {
    if (n[i] < max) max = n[i];
  }
  if (max == 0) {
    free(job);
    return throw_coded(env, "BAD_ARGS", "readBatch: per-packet arrays are empty");
  }
  if (max > 0x7fffffff) max = 0x7fffffff;
  job->h = h;
  job->data = (uint8_t *)ptr[0];
  job->dataLen = n[0];
  job->offset = (int32_t *)ptr[1];
  job->caplen = (int32_t *)ptr[2];
  job->origlen = (int32_t *)ptr[3];
  job->tsSec = (double *)ptr[4];
  job->tsNsec = (int32_t *)ptr[5];
  job->max = (int)max;
  for (int i = 0; i < 7; i++) {
    if (napi_create_reference(env, argv[i], 1, &job->refs[i]) != napi_ok) {
      for (int j = 0; j < i; j++) napi_delete_reference(env, job->refs[j]);
      free(job);
      return throw_coded(env, "NAPI_FAILED", "napi_create_reference failed");
    }
  }
  napi_value promise, name;
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "otwatch.pcapReadBatch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, read_execute, read_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    for (int i = 0; i < 7; i++) napi_delete_reference(env, job->refs[i]);
    free(job);
    return throw_coded(env, "NAPI_FAILED", "could not queue the read");
  }
  h->busy = 1;
  return promise;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_coded(env, "BAD_ARGS", "close(handle)");
  Handle *h = get_handle(env, argv[0]);
  if (h == NULL || h->closed) return NULL;
  h->closed = 1;
  if (h->busy) {
    /* The worker is inside pcap_dispatch: wake it (pcap_breakloop is meant to be called from another thread or a
     * signal handler) and let read_complete close the pcap_t once the worker is done with it. */
    __atomic_store_n(&h->closing, 1, __ATOMIC_RELEASE);
    pcap_breakloop(h->p);
  } else if (h->p != NULL) {
    pcap_close(h->p);
    h->p = NULL;
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setFilter", NULL, js_set_filter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"datalink", NULL, js_datalink, NULL, NULL, NULL, napi_enumerable, NULL},
      {"nanoTimestamps", NULL, js_nano, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readBatch", NULL, js_read_batch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
