// bench/floor.c: the physical floor of an export, for bench/compare.sh.
// floor SRC DST MODE copies the tree SRC (an earlier export of the same Procfile, so it is in
// the page cache) into the existing empty directory DST, with the same files, modes,
// directories and links, and makes it durable the MODE way. It is what an export would cost if
// parsing, rendering, checking and planning were free.
// MODE: none (no durability) | fsync (each file and directory fsync'd in turn) | syncfs (write
//       everything, one syncfs) | sfr (sync_file_range per file, waited for, then the
//       directories fsync'd) | thr (files kept open, fsync'd by 4 threads, then directories) |
//       atomic (each file and link made under a temp name, one syncfs, every one renamed into
//       place, one syncfs: the least an export that replaces files atomically can do)
// Build: cc -O2 -pthread -o floor bench/floor.c
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static int mode; enum {NONE, FS, SFS, SFR, THR, SFR1, ATOMIC};
static char **tp; static int nt, ct; // ATOMIC: the final paths, each made first as "<path>.tmp"
static char **fp; static int nf, cf; static char **dp; static int nd, cd; static int root;
static void pushp(char ***a, int *n, int *c, const char *v){ if(*n==*c){*c=*c?*c*2:256;*a=realloc(*a,*c*sizeof(char*));} (*a)[(*n)++]=strdup(v); }
static long nfsync;
static void push(int **a, int *n, int *c, int v){ if(*n==*c){*c=*c?*c*2:256;*a=realloc(*a,*c*sizeof(int));} (*a)[(*n)++]=v; }
static char buf[1<<20];
static void copy(int sdir, int ddir, const char *rel) {
  char p[4096];
  DIR *d = fdopendir(dup(sdir)); struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name,".")||!strcmp(e->d_name,"..")) continue;
    struct stat st; fstatat(sdir, e->d_name, &st, AT_SYMLINK_NOFOLLOW);
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(ddir, e->d_name, st.st_mode & 07777)) { perror("mkdir"); exit(1);}  
      int s2 = openat(sdir, e->d_name, O_RDONLY|O_DIRECTORY);
      int d2 = openat(ddir, e->d_name, O_RDONLY|O_DIRECTORY);
      snprintf(p, sizeof p, "%s%s/", rel, e->d_name); copy(s2, d2, p); close(s2);
      if (mode==FS) { fsync(d2); nfsync++; close(d2);} else { if (mode==SFR||mode==THR) { p[strlen(p)-1]=0; pushp(&dp,&nd,&cd,p);} close(d2);} 
    } else if (S_ISLNK(st.st_mode)) {
      char t[4096]; ssize_t k = readlinkat(sdir, e->d_name, t, sizeof t - 1); t[k]=0;
      if (mode==ATOMIC) { char tmp[4096]; snprintf(tmp, sizeof tmp, "%s.tmp", e->d_name); symlinkat(t, ddir, tmp); snprintf(p, sizeof p, "%s%s", rel, e->d_name); pushp(&tp,&nt,&ct,p); }
      else symlinkat(t, ddir, e->d_name);
    } else {
      int s = openat(sdir, e->d_name, O_RDONLY);
      char tmp[4096]; snprintf(tmp, sizeof tmp, "%s.tmp", e->d_name);
      if (mode==ATOMIC) { snprintf(p, sizeof p, "%s%s", rel, e->d_name); pushp(&tp,&nt,&ct,p); }
      int f = openat(ddir, mode==ATOMIC ? tmp : e->d_name, O_WRONLY|O_CREAT|O_EXCL, st.st_mode & 07777);
      if (f<0){perror("open");exit(1);} ssize_t k;
      while ((k = read(s, buf, sizeof buf)) > 0) write(f, buf, k);
      close(s);
      if (mode==FS) { fsync(f); nfsync++; close(f);} 
      else { if (mode==SFR||mode==SFR1) sync_file_range(f,0,0,SYNC_FILE_RANGE_WRITE); if (mode==SFR||mode==SFR1||mode==THR) { snprintf(p, sizeof p, "%s%s", rel, e->d_name); pushp(&fp,&nf,&cf,p);} close(f);} 
    }
  }
  closedir(d);
}
static char **work; static int nwork; static int next_i; static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *worker(void *a){ for(;;){ pthread_mutex_lock(&mu); int i = next_i++; pthread_mutex_unlock(&mu); if(i>=nwork) return 0; int f=openat(root,work[i],O_RDONLY); fsync(f); close(f); __sync_fetch_and_add(&nfsync,1);} }
static void par(char **fds, int n){ work=fds; nwork=n; next_i=0; pthread_t t[4]; for(int i=0;i<4;i++) pthread_create(&t[i],0,worker,0); for(int i=0;i<4;i++) pthread_join(t[i],0); }
#include <sys/resource.h>
int main(int argc, char **argv) {
  struct rlimit rl; getrlimit(RLIMIT_NOFILE,&rl); rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE,&rl);
  const char *m = argv[3];
  mode = !strcmp(m,"atomic")?ATOMIC:!strcmp(m,"sfr1")?SFR1:!strcmp(m,"none")?NONE:!strcmp(m,"fsync")?FS:!strcmp(m,"syncfs")?SFS:!strcmp(m,"sfr")?SFR:THR;
  int s = open(argv[1], O_RDONLY|O_DIRECTORY), d = open(argv[2], O_RDONLY|O_DIRECTORY);
  root = d; copy(s, d, "");
  if (mode==FS) { fsync(d); nfsync++; }
  else if (mode==SFS) syncfs(d);
  else if (mode==ATOMIC) {
    syncfs(d);
    for (int i=0;i<nt;i++) { char tmp[4096]; snprintf(tmp, sizeof tmp, "%s.tmp", tp[i]); if (renameat(d, tmp, d, tp[i])) { perror("rename"); exit(1);} }
    syncfs(d);
  }
  else if (mode==SFR) {
    for (int i=0;i<nf;i++) { int f=openat(d,fp[i],O_RDONLY); sync_file_range(f,0,0,SYNC_FILE_RANGE_WAIT_BEFORE|SYNC_FILE_RANGE_WRITE|SYNC_FILE_RANGE_WAIT_AFTER); close(f);}
    for (int i=0;i<nd;i++) { int f=openat(d,dp[i],O_RDONLY|O_DIRECTORY); fsync(f); close(f); nfsync++; } fsync(d); nfsync++;
  } else if (mode==SFR1) {
    for (int i=0;i<nf;i++) { int f=openat(d,fp[i],O_RDONLY); sync_file_range(f,0,0,SYNC_FILE_RANGE_WAIT_BEFORE|SYNC_FILE_RANGE_WRITE|SYNC_FILE_RANGE_WAIT_AFTER); close(f);}
    fsync(d); nfsync++;
  } else if (mode==THR) { par(fp,nf); pushp(&dp,&nd,&cd,"."); par(dp,nd); }
  if (getenv("FLOOR_VERBOSE")) fprintf(stderr,"fsyncs=%ld files=%d dirs=%d\n", nfsync, nf, nd);
  return 0;
}
