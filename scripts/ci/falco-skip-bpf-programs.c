// LD_PRELOAD shim for the e2e suite's Falco: turns off the loading of the modern eBPF programs named
// in FALCO_SKIP_BPF_PROGRAMS (comma-separated) before libbpf loads Falco's probe.
//
// Why: the 0.40.0 build in ../shared/falco/runtime (libs 0.20.0) carries a `signal_deliver`
// program that the BPF verifier of this machine's kernel refuses ("marking pointer arg1 as scalar
// as it may encode error ... R5 invalid mem access 'scalar'"), and libbpf then loads nothing, so
// Falco exits with "Initialization issues during scap_init". Falco attaches that program only for
// the signaldeliver event, which neither its rules nor its state engine ask for; every other
// program loads and runs unchanged. Built by scripts/ci/unpack-falco.sh, used by
// test/helpers/falco-runtime.ts.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bpf_object;
struct bpf_program;
struct bpf_map_skeleton;
struct bpf_link;

// libbpf's public skeleton layout (libbpf.h, stable since 0.x); progs are prog_skel_sz apart.
struct bpf_prog_skeleton {
  const char *name;
  struct bpf_program **prog;
  struct bpf_link **link;
};

struct bpf_object_skeleton {
  size_t sz;
  const char *name;
  const void *data;
  size_t data_sz;
  struct bpf_object **obj;
  int map_cnt;
  int map_skel_sz;
  struct bpf_map_skeleton *maps;
  int prog_cnt;
  int prog_skel_sz;
  struct bpf_prog_skeleton *progs;
};

static bool listed(const char *list, const char *name) {
  size_t length = strlen(name);
  for (const char *at = list; *at != '\0';) {
    const char *end = strchr(at, ',');
    size_t item = end == NULL ? strlen(at) : (size_t)(end - at);
    if (item == length && strncmp(at, name, length) == 0) return true;
    if (end == NULL) break;
    at = end + 1;
  }
  return false;
}

int bpf_object__load_skeleton(struct bpf_object_skeleton *skeleton) {
  int (*load)(struct bpf_object_skeleton *) =
      (int (*)(struct bpf_object_skeleton *))dlsym(RTLD_NEXT, "bpf_object__load_skeleton");
  int (*set_autoload)(struct bpf_program *, bool) =
      (int (*)(struct bpf_program *, bool))dlsym(RTLD_DEFAULT, "bpf_program__set_autoload");
  const char *skip = getenv("FALCO_SKIP_BPF_PROGRAMS");
  if (load == NULL) return -1;
  if (skip != NULL && set_autoload != NULL) {
    for (int i = 0; i < skeleton->prog_cnt; i++) {
      struct bpf_prog_skeleton *prog =
          (struct bpf_prog_skeleton *)((char *)skeleton->progs + (size_t)i * (size_t)skeleton->prog_skel_sz);
      if (!listed(skip, prog->name)) continue;
      set_autoload(*prog->prog, false);
      fprintf(stderr, "falco-skip-bpf-programs: not loading the BPF program %s\n", prog->name);
    }
  }
  return load(skeleton);
}
