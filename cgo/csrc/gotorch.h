/* gotorch.h: the C ABI between Go (package torch) and libtorch.
 *
 * Rules (DESIGN.md, "The binding"):
 *  - A GTensor is one heap at::Tensor; gt_free releases it. Every function
 *    that creates a tensor returns a new handle the caller owns.
 *  - Every function that can fail takes `char **err` last. On failure it
 *    stores a malloc'd message (libtorch's, without the C++ backtrace) there
 *    and returns NULL / 0; the caller frees the message with free().
 *  - Nothing here keeps a thread-local "last error".
 *  - Handles passed in must be non-NULL unless the comment says "nullable".
 */
#ifndef GOTORCH_H
#define GOTORCH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gt_tensor *GTensor;

/* dtypes, our own numbering (the Go side mirrors it) */
enum {
  GT_FLOAT32 = 0,
  GT_FLOAT16 = 1,
  GT_BFLOAT16 = 2,
  GT_INT64 = 3,
  GT_UINT8 = 4,
  GT_BOOL = 5,
  GT_FLOAT64 = 6,
  GT_INT32 = 7,
};

/* device types */
enum { GT_CPU = 0, GT_CUDA = 1 };

/* ---- lifecycle and inspection ---- */
void gt_free(GTensor t);
int64_t gt_live(void); /* handles alive now: for leak tests */
int gt_ndim(GTensor t);
void gt_shape(GTensor t, int64_t *out); /* out has room for gt_ndim values */
int gt_dtype(GTensor t);
void gt_device(GTensor t, int *type, int *index);
int gt_is_pinned(GTensor t);
int gt_is_contiguous(GTensor t);
/* libtorch's version, e.g. "1.13.0"; static storage */
const char *gt_version(void);

/* ---- creation and host transfer ---- */
/* Copies nbytes from data (laid out as dtype with the given shape) into a new tensor. */
GTensor gt_from_data(const void *data, int64_t nbytes, int dtype, const int64_t *shape, int ndim,
                     int dev_type, int dev_index, char **err);
/* Uninitialised tensor; pinned=1 asks for page-locked host memory (needs CUDA). */
GTensor gt_empty(const int64_t *shape, int ndim, int dtype, int dev_type, int dev_index, int pinned,
                 char **err);
enum { GT_FILL_ZEROS = 0, GT_FILL_ONES, GT_FILL_FULL, GT_FILL_RANDN, GT_FILL_RAND };
GTensor gt_filled(int kind, double value, const int64_t *shape, int ndim, int dtype, int dev_type,
                  int dev_index, char **err);
GTensor gt_arange(double start, double end, double step, int dtype, int dev_type, int dev_index,
                  char **err);
/* Copies the tensor's elements, as its own dtype, in row-major order, to dst (nbytes exactly). */
void gt_copy_to_host(GTensor t, void *dst, int64_t nbytes, char **err);
/* Address of the first element of a contiguous CPU tensor (for filling pinned buffers). */
void *gt_data_ptr(GTensor t, char **err);
double gt_item(GTensor t, char **err);

/* ---- conversion ---- */
GTensor gt_to(GTensor t, int dev_type, int dev_index, int dtype, int non_blocking, char **err);
enum { GT_FORMAT_CONTIGUOUS = 0, GT_FORMAT_CHANNELS_LAST = 1 };
GTensor gt_contiguous(GTensor t, int format, char **err);
GTensor gt_clone(GTensor t, char **err);
GTensor gt_pin_memory(GTensor t, char **err);

/* ---- devices, seeds, threads ---- */
int gt_cuda_is_available(void);
int gt_cuda_device_count(void);
void gt_manual_seed(uint64_t seed, char **err); /* CPU and every CUDA device */
int64_t gt_cpu_seed_draw(char **err); /* torch.empty((), dtype=torch.int64).random_() */
GTensor gt_randperm_seeded(int64_t n, uint64_t seed, char **err); /* randperm(n, generator=Generator().manual_seed(seed)) */
/* The default generator's state as a uint8 tensor, and back. */
GTensor gt_rng_state(int dev_type, int dev_index, char **err);
void gt_set_rng_state(int dev_type, int dev_index, GTensor state, char **err);
void gt_set_num_threads(int n, char **err);
int gt_num_threads(void);
/* Starts k threads that wait until all have started, then ends them: how many
 * started (k, or fewer with pthread_create's error in *err_no). */
int gt_start_threads(int k, int *err_no);
/* The threads of the pool libtorch's first set_num_threads makes before the
 * one asked for, both alive at once: the host's processors on libtorch 1.x,
 * 0 where it makes only the one asked for. */
int gt_first_pool_threads(void);
/* Sets OpenBLAS's own thread count if OpenBLAS is the loaded BLAS; returns 1 if it is. */
int gt_openblas_set_num_threads(int n);
/* OpenBLAS's own thread count; 0 when OpenBLAS is not the loaded BLAS. */
int gt_openblas_num_threads(void);
/* 1 if conv_transpose2d runs threaded by gogan (libtorch 1.11 to 1.x,
 * convt.cpp), 0 where libtorch's own op runs as it is. */
int gt_convt_threaded(void);
/* 1 if this libtorch was built with Intel MKL (its BLAS; the wheels). */
int gt_has_mkl(void);
/* Makes glibc's malloc keep freed memory for reuse (no mmap for big blocks, no
 * trimming, one arena), so tensors of the same sizes every step do not fault
 * their pages in again. Returns 1 where it applied (glibc). */
int gt_keep_host_memory(void);
void gt_set_cudnn_benchmark(int on);
/* TF32 tensor cores for float32 convolutions and matmuls (PyTorch 2.x enables them for cuDNN). */
void gt_set_allow_tf32(int on);
void gt_cuda_synchronize(int dev_index, char **err);
/* Makes cuda:dev_index this thread's current CUDA device (cudaSetDevice) and
 * returns the one that was current. */
int gt_cuda_set_device(int dev_index, char **err);
/* Peak bytes allocated (reserved=0) or reserved (1: the cache and CUDA graphs'
 * private pools included) by the CUDA caching allocator on a device since the
 * last reset (-1 when this library was built without CUDA). */
int64_t gt_cuda_max_allocated(int dev_index, int reserved, char **err);
void gt_cuda_reset_peak(int dev_index, char **err);
/* Counts the bytes CPU tensors allocated from now on hold (cpumem.cpp; libtorch
 * 1.x): stats gives the count now and its peak since the last reset. */
void gt_cpu_mem_track(char **err);
void gt_cpu_mem_stats(int64_t *current, int64_t *peak);
void gt_cpu_mem_reset_peak(void);

/* ---- elementwise and reductions ---- */
enum {
  GT_RELU = 0, GT_TANH, GT_SIGMOID, GT_NEG, GT_SQRT, GT_ABS, GT_EXP, GT_LOG, GT_SQUARE,
  GT_ONES_LIKE, GT_ZEROS_LIKE, GT_RANDN_LIKE, GT_RAND_LIKE,
  GT_RELU_INPLACE, /* relu_: x itself, overwritten */
};
GTensor gt_unary(int op, GTensor x, char **err);
enum { GT_ADD = 0, GT_SUB, GT_MUL, GT_DIV, GT_MAXIMUM, GT_MINIMUM, GT_EQ, GT_MATMUL };
GTensor gt_binary(int op, GTensor a, GTensor b, char **err);
/* torch.linalg.eigh of a symmetric matrix (its lower triangle): the
   eigenvalues ascending, and the eigenvectors as columns when vecs is not NULL. */
GTensor gt_eigh(GTensor x, GTensor *vecs, char **err);
enum {
  GT_ADD_SCALAR = 0, GT_SUB_SCALAR, GT_MUL_SCALAR, GT_DIV_SCALAR, GT_POW_SCALAR,
  GT_RSUB_SCALAR, /* s - x */
  GT_LEAKY_RELU,  /* s is the negative slope */
  GT_FULL_LIKE,   /* a tensor shaped like x, filled with s */
  GT_LEAKY_RELU_INPLACE, /* leaky_relu_: x itself, overwritten */
};
GTensor gt_scalar_op(int op, GTensor x, double s, char **err);
/* has_min / has_max select which bounds apply */
GTensor gt_clamp(GTensor x, double min, int has_min, double max, int has_max, char **err);
enum { GT_SUM = 0, GT_MEAN, GT_NORM2 /* the Euclidean norm */ };
/* ndims == 0 reduces over all dimensions */
GTensor gt_reduce(int op, GTensor x, const int64_t *dims, int ndims, int keepdim, char **err);

/* ---- shape ---- */
/* view=1 fails when the memory layout does not allow a view, as Tensor.view does */
GTensor gt_reshape(GTensor x, const int64_t *shape, int ndim, int view, char **err);
GTensor gt_permute(GTensor x, const int64_t *dims, int ndim, char **err);
GTensor gt_flatten(GTensor x, int64_t start, int64_t end, char **err);
GTensor gt_narrow(GTensor x, int64_t dim, int64_t start, int64_t length, char **err);
/* The entries of x at the int64 positions index along dim (index_select). */
GTensor gt_index_select(GTensor x, int64_t dim, GTensor index, char **err);
/* x with source's slices added at the int64 positions index along dim
   (index_add, out of place; repeated positions accumulate). */
GTensor gt_index_add(GTensor x, int64_t dim, GTensor index, GTensor source, char **err);
/* x reversed along each of dims (torch.flip). */
GTensor gt_flip(GTensor x, const int64_t *dims, int ndims, char **err);
GTensor gt_cat(const GTensor *xs, int n, int64_t dim, char **err);

/* ---- neural network ops (bias, weight, running stats are nullable) ---- */
GTensor gt_conv2d(GTensor x, GTensor w, GTensor b, const int64_t *stride, const int64_t *padding,
                  const int64_t *dilation, int64_t groups, char **err);
GTensor gt_conv_transpose2d(GTensor x, GTensor w, GTensor b, const int64_t *stride,
                            const int64_t *padding, const int64_t *output_padding, int64_t groups,
                            const int64_t *dilation, char **err);
GTensor gt_batch_norm(GTensor x, GTensor w, GTensor b, GTensor running_mean, GTensor running_var,
                      int training, double momentum, double eps, char **err);
GTensor gt_instance_norm(GTensor x, GTensor w, GTensor b, GTensor running_mean,
                         GTensor running_var, int use_input_stats, double momentum, double eps,
                         char **err);
GTensor gt_dropout(GTensor x, double p, int train, char **err);
enum { GT_PAD_ZERO = 0, GT_PAD_REFLECT, GT_PAD_REPLICATE };
/* pad = {left, right, top, bottom}, as F.pad */
GTensor gt_pad2d(GTensor x, int mode, const int64_t *pad, char **err);
GTensor gt_avg_pool2d(GTensor x, const int64_t *kernel, const int64_t *stride,
                      const int64_t *padding, int ceil_mode, int count_include_pad, char **err);
GTensor gt_max_pool2d(GTensor x, const int64_t *kernel, const int64_t *stride,
                      const int64_t *padding, int ceil_mode, char **err);
enum { GT_NEAREST = 0, GT_BILINEAR };
GTensor gt_upsample2d(GTensor x, int mode, int64_t out_h, int64_t out_w, int align_corners,
                      char **err);
enum { GT_BCE = 0, GT_BCE_WITH_LOGITS, GT_MSE, GT_L1 };
enum { GT_REDUCE_NONE = 0, GT_REDUCE_MEAN = 1, GT_REDUCE_SUM = 2 };
GTensor gt_loss(int kind, GTensor input, GTensor target, int reduction, char **err);

/* ---- in-place, outside autograd (parameters, buffers, optimizer state) ---- */
void gt_copy_(GTensor dst, GTensor src, char **err);
/* Writes source's slices into x at the int64 positions index along dim, in
   place and outside autograd (index_copy_): positions read from the device,
   so that a CUDA graph's replays write where each replay's index says. */
void gt_index_copy_(GTensor x, int64_t dim, GTensor index, GTensor source, char **err);
void gt_fill_(GTensor t, double value, char **err);
void gt_normal_(GTensor t, double mean, double std, char **err);
void gt_uniform_(GTensor t, double from, double to, char **err);
enum {
  GT_INIT_XAVIER_NORMAL = 0, GT_INIT_XAVIER_UNIFORM, GT_INIT_KAIMING_NORMAL,
  GT_INIT_KAIMING_UNIFORM, GT_INIT_ORTHOGONAL,
};
/* gain for xavier and orthogonal; the leaky slope `a` for kaiming (fan_in, leaky_relu) */
void gt_init_(GTensor t, int kind, double gain_or_a, char **err);
/* Adds `value` to an integer or float tensor in place (num_batches_tracked += 1). */
void gt_add_scalar_(GTensor t, double value, char **err);

/* ---- autograd ---- */
void gt_set_requires_grad(GTensor t, int on, char **err);
int gt_requires_grad(GTensor t);
/* NULL without error when the tensor has no gradient */
GTensor gt_grad(GTensor t, char **err);
/* set_to_none=1 drops the gradient (PyTorch's default), 0 zeroes it in place */
void gt_zero_grad(GTensor t, int set_to_none, char **err);
/* The same for n tensors in one call (a network's parameters, every step). */
void gt_set_requires_grad_n(const GTensor *ts, int n, int on, char **err);
void gt_zero_grad_n(const GTensor *ts, int n, int set_to_none, char **err);
/* grad is nullable (then the tensor must hold one element) */
void gt_backward(GTensor t, GTensor grad, int retain_graph, int create_graph, char **err);
/* torch.autograd.grad: grad_outputs entries are nullable; results get nin handles
 * (NULL for an unused input when allow_unused). Returns 1 on success. */
int gt_autograd_grad(const GTensor *outputs, const GTensor *grad_outputs, int nout,
                     const GTensor *inputs, int nin, int retain_graph, int create_graph,
                     int allow_unused, GTensor *results, char **err);
GTensor gt_detach(GTensor t, char **err);
int gt_grad_enabled(void);
void gt_set_grad_enabled(int on);

/* ---- optimizers (PyTorch's single-tensor updates, same arithmetic) ---- */
/* Adam/AdamW step for n parameters; params without a gradient are skipped.
 * step is the step count after this update (1 on the first step). decoupled=1 is AdamW. */
void gt_adam_step(const GTensor *params, const GTensor *exp_avg, const GTensor *exp_avg_sq, int n,
                  int64_t step, double lr, double beta1, double beta2, double eps,
                  double weight_decay, int decoupled, char **err);
/* Adam updates CPU tensors in chunks of this many elements (cache-sized; the
 * results do not depend on it). n > 0 sets it and returns the previous size,
 * n <= 0 returns the current one. For tests. */
int64_t gt_adam_chunk(int64_t n);
/* SGD step; bufs[i] may be NULL on the first step, then a new momentum buffer is
 * stored there (momentum != 0). */
void gt_sgd_step(const GTensor *params, GTensor *bufs, int n, double lr, double momentum,
                 double dampening, double weight_decay, int nesterov, char **err);

/* ---- the CUDA fast path (fastpath.cpp) ---- */
/* Autocast on dev_type (GT_CPU or GT_CUDA) with dtype GT_FLOAT16 or GT_BFLOAT16
 * as the lower precision; returns the previous state (on/off, lower precision) for gt_autocast_exit. */
int gt_autocast_enter(int dev_type, int dtype, char **err);
void gt_autocast_exit(int dev_type, int prev, char **err);
/* Turns autocast's cache of cast weights on or off; returns the previous state. */
int gt_autocast_cache(int on);
/* The grad scaler's unscale_ on the device: multiplies the gradients of
 * params by inv_scale (a one-element float32 tensor) and sets found_inf (one
 * element, float32, zero before) above 0 if any of them holds an inf or NaN;
 * nothing waits for the device. */
void gt_amp_unscale(const GTensor *params, int n, GTensor inv_scale, GTensor found_inf, char **err);
/* GradScaler.update on the device (_amp_update_scale_): scale (float32) and
 * growth_tracker (int32), one element each, from found_inf (above 0: an
 * overflow this step). */
void gt_amp_update_scale(GTensor scale, GTensor growth_tracker, GTensor found_inf, double growth, double backoff,
                         int64_t interval, char **err);
/* Adam/AdamW with the step count (float32, incremented here) and the learning
 * rate as one-element tensors on the parameters' device: torch.optim.Adam's
 * capturable=True arithmetic, which a CUDA graph can replay. found_inf (may
 * be null; one element) above 0 skips the update on the device: the
 * parameters, moments and step count stay as they were (the fused Adam's
 * found_inf). */
void gt_adam_step_dev(const GTensor *params, const GTensor *exp_avg, const GTensor *exp_avg_sq, int n,
                      GTensor step, GTensor lr, double beta1, double beta2, double eps, double weight_decay,
                      int decoupled, GTensor found_inf, char **err);
/* Re-lays every 4-d tensor of ts out as NHWC (channels_last) in place: same
 * tensors, same values, new strides. */
void gt_channels_last_n(const GTensor *ts, int n, char **err);
/* Copies src into dst (on a CUDA device) on a copy stream beside the step's
 * stream, non-blocking from pinned memory, and returns an event recorded after
 * the copy. The copy first waits for `after` (nullable): the end of the work
 * that last read dst. dst gets record_stream for the copy stream. Streams and
 * events are c10's device-generic ones (no CUDA headers needed). */
typedef struct gt_event *GEvent;
GEvent gt_copy_side(GTensor dst, GTensor src, GEvent after, char **err);
/* An event recorded on the current stream of the device `on` lives on. */
GEvent gt_event_record(GTensor on, char **err);
/* host=0: the current stream waits for the event (the host does not);
 * host=1: the host waits until the event's work is done. */
void gt_event_wait(GEvent e, int host, char **err);
void gt_event_free(GEvent e);
/* torch.backends.cudnn.deterministic: run-to-run identical convolutions (tests). */
void gt_set_cudnn_deterministic(int on);
/* CUDA graphs (need a build with GOGAN_WITH_CUDA; 1 if this one has them). */
int gt_cuda_graphs_available(void);
typedef struct gt_graph *GGraph;
GGraph gt_graph_new(int dev_index, char **err);
/* on=1 makes a side stream of the graph's device current (warm-up and capture
 * run there), on=0 returns to the default stream; both synchronise the device. */
void gt_graph_side_stream(GGraph g, int on, char **err);
/* begin=1 starts capturing the current (side) stream's work, begin=0 ends it. */
void gt_graph_capture(GGraph g, int begin, char **err);
void gt_graph_replay(GGraph g, char **err);
void gt_graph_free(GGraph g);

/* ---- data parallelism (c10d): one process group per process ---- */
enum { GT_DIST_GLOO = 0, GT_DIST_NCCL = 1 };
/* Bit b set: backend b was compiled in. */
int gt_dist_backends(void);
/* Joins the group of `world` ranks through a TCPStore at addr:port: served by
 * rank 0, or with agent_store=1 by torchrun's agent (every rank a client).
 * Store keys get `prefix`. ifname (nullable): Gloo's network interface.
 * timeout_ms bounds the rendezvous and every collective. */
void gt_dist_init(int backend, int rank, int world, const char *addr, int port, int agent_store, const char *prefix,
                  const char *ifname, int64_t timeout_ms, char **err);
void gt_dist_destroy(void);
/* In place over the ranks: sum (avg=1: mean) of n tensors, in buckets of
 * about bucket_bytes, all launched before the first is waited for. */
void gt_dist_allreduce(const GTensor *ts, int n, int avg, int64_t bucket_bytes, char **err);
/* The mean over the ranks of the n parameters' gradients, in reverse order;
 * a missing gradient takes part as zeros and stays missing. */
void gt_dist_allreduce_grads(const GTensor *params, int n, int64_t bucket_bytes, char **err);
/* DDP's reducer over n parameters: their gradients' allreduce overlapped
 * with backward, from arm (at zero_grad) to finish (before the step; the
 * mean over the ranks is then in the gradients). stats: buckets launched
 * during backward, buckets launched in all, and whether the reducer stopped
 * overlapping (two backward passes into one parameter). */
typedef struct gt_reducer *GReducer;
GReducer gt_reducer_new(const GTensor *params, int n, int64_t bucket_bytes, int64_t first_bucket_bytes, char **err);
void gt_reducer_arm(GReducer r, char **err);
void gt_reducer_finish(GReducer r, char **err);
void gt_reducer_stats(GReducer r, int64_t *early, int64_t *launched, int *off);
void gt_reducer_free(GReducer r);
/* In place: root's values of n tensors on every rank. */
void gt_dist_broadcast(const GTensor *ts, int n, int root, int64_t bucket_bytes, char **err);
void gt_dist_barrier(char **err);
/* Sum over the ranks that autograd differentiates (SyncBatchNorm). */
GTensor gt_dist_allreduce_sum_autograd(GTensor t, char **err);
/* The rendezvous store: set, get (blocks up to the timeout; malloc'd, *n
 * bytes), check (1 when the key exists). */
void gt_dist_store_set(const char *key, const uint8_t *data, int64_t n, char **err);
uint8_t *gt_dist_store_get(const char *key, int64_t *n, char **err);
int gt_dist_store_check(const char *key, char **err);
/* A rendezvous store served by this process for ranks it starts (torchrun's
 * agent's): a TCPStore server on port (0: a free one, bound at once, so that
 * no other program takes it before the ranks come); *bound is its port. */
typedef struct gt_store_server *GStoreServer;
GStoreServer gt_store_serve(int port, int64_t timeout_ms, int *bound, char **err);
void gt_store_server_free(GStoreServer s);

#ifdef __cplusplus
}
#endif

#endif
