/* Codes shared by the C runtime, the Swift backend and the GLSL kernels: this file is included
 * by C and by the shaders (shaders/common.glsl), so it holds #define lines and comments only. */
#ifndef EMBER_VULKAN_OPS_H
#define EMBER_VULKAN_OPS_H

/* Element types in device buffers (the `*_dtype` push-constant fields). */
#define EMBER_VK_DTYPE_F32 0u
#define EMBER_VK_DTYPE_I64 1u  /* little-endian, read as two 32-bit words */
#define EMBER_VK_DTYPE_BOOL 2u /* one byte, 0 or 1; a cast to bool is x != 0 */
#define EMBER_VK_DTYPE_F16 3u
#define EMBER_VK_DTYPE_BF16 4u
#define EMBER_VK_DTYPE_I32 5u
#define EMBER_VK_DTYPE_U8 6u /* one byte; a cast to uint8 wraps like PyTorch's */

/* unary_f32 `op`. */
#define EMBER_VK_UNARY_NEG 0u
#define EMBER_VK_UNARY_ABS 1u
#define EMBER_VK_UNARY_EXP 2u
#define EMBER_VK_UNARY_LOG 3u
#define EMBER_VK_UNARY_LOG1P 4u
#define EMBER_VK_UNARY_EXPM1 5u
#define EMBER_VK_UNARY_SQRT 6u
#define EMBER_VK_UNARY_RSQRT 7u
#define EMBER_VK_UNARY_TANH 8u
#define EMBER_VK_UNARY_SIGMOID 9u
#define EMBER_VK_UNARY_RELU 10u
#define EMBER_VK_UNARY_GELU_TANH 11u
#define EMBER_VK_UNARY_GELU_ERF 12u
#define EMBER_VK_UNARY_SIN 13u
#define EMBER_VK_UNARY_COS 14u
#define EMBER_VK_UNARY_ERF 15u
#define EMBER_VK_UNARY_SQUARE 16u
#define EMBER_VK_UNARY_RECIPROCAL 17u
#define EMBER_VK_UNARY_FLOOR 18u
#define EMBER_VK_UNARY_CEIL 19u
#define EMBER_VK_UNARY_ROUND 20u /* half to even, as torch.round */
#define EMBER_VK_UNARY_TRUNC 21u
#define EMBER_VK_UNARY_SIGN 22u
#define EMBER_VK_UNARY_SILU 23u
#define EMBER_VK_UNARY_LOG2 24u
#define EMBER_VK_UNARY_LOG10 25u

/* binary_f32 `op`: out = f(a, b). The *_BACKWARD ops take (a = saved input or output, b = grad). */
#define EMBER_VK_BINARY_ADD 0u
#define EMBER_VK_BINARY_SUB 1u
#define EMBER_VK_BINARY_MUL 2u
#define EMBER_VK_BINARY_DIV 3u
#define EMBER_VK_BINARY_POW 4u
#define EMBER_VK_BINARY_MAXIMUM 5u /* NaN propagates */
#define EMBER_VK_BINARY_MINIMUM 6u /* NaN propagates */
#define EMBER_VK_BINARY_ATAN2 7u
#define EMBER_VK_BINARY_REMAINDER 8u /* result has the sign of b (Python's %) */
#define EMBER_VK_BINARY_FLOOR_DIVIDE 9u
#define EMBER_VK_BINARY_GELU_TANH_BACKWARD 10u /* a = x */
#define EMBER_VK_BINARY_GELU_ERF_BACKWARD 11u  /* a = x */
#define EMBER_VK_BINARY_TANH_BACKWARD 12u      /* a = y = tanh(x) */
#define EMBER_VK_BINARY_SIGMOID_BACKWARD 13u   /* a = y = sigmoid(x) */
#define EMBER_VK_BINARY_RELU_BACKWARD 14u      /* a = x */
#define EMBER_VK_BINARY_SILU_BACKWARD 15u      /* a = x */

/* compare_f32 `op`: bool output. Logical ops read their inputs as truthiness (x != 0). */
#define EMBER_VK_COMPARE_EQ 0u
#define EMBER_VK_COMPARE_NE 1u
#define EMBER_VK_COMPARE_LT 2u
#define EMBER_VK_COMPARE_LE 3u
#define EMBER_VK_COMPARE_GT 4u
#define EMBER_VK_COMPARE_GE 5u
#define EMBER_VK_COMPARE_LOGICAL_AND 6u
#define EMBER_VK_COMPARE_LOGICAL_OR 7u
#define EMBER_VK_COMPARE_LOGICAL_XOR 8u

/* reduce_rows_f32 / reduce_mid_f32 `op` (max and min propagate NaN). */
#define EMBER_VK_REDUCE_SUM 0u
#define EMBER_VK_REDUCE_MEAN 1u
#define EMBER_VK_REDUCE_PROD 2u
#define EMBER_VK_REDUCE_MAX 3u
#define EMBER_VK_REDUCE_MIN 4u

/* argreduce_rows_f32 `op` (first occurrence; a NaN wins, as in PyTorch). */
#define EMBER_VK_ARGREDUCE_MAX 0u
#define EMBER_VK_ARGREDUCE_MIN 1u

#endif
