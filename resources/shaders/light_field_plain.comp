#version 450
// The portable form of light_field.comp, for devices without subgroup shuffles: each invocation
// loads its weights itself. Same layout, same operations, the same image.
// Neural light field: one invocation per pixel builds the pixel's camera ray, encodes it and runs
// the MLP (renderers/light_field_mlp.h) on it, writing RGBA8. Same operations as
// evaluateLightFieldMlp() (the host twin). Widths are padded to multiples of 4 with zero weights so
// every layer is a loop of 4x4 blocks of vec4 dot products: a CPU implementation (lavapipe) runs
// them as SIMD, and the activations stay in a small vec4 array.
layout(local_size_x = 8, local_size_y = 8) in;

// Per layer: in/4, out/4, activation (0 none, 1 relu, 2 sigmoid), weight offset, bias offset
// (offsets in vec4s).
layout(std430, set = 0, binding = 0) readonly buffer Net { int net[]; };
// Features first (2 vec4s each: ray weights 0-3; ray weights 4-5, offset, function 0 linear /
// 1 sin / 2 cos), then each layer's weights as [out/4][in/4][4 rows] vec4s and its [out/4] bias.
layout(std430, set = 0, binding = 1) readonly buffer Weights { vec4 wts[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Pixels { uint pixels[]; };

layout(push_constant) uniform Push {
    vec4 eye;    // xyz
    vec4 right;  // camera s / focal length (pixels)
    vec4 up;     // camera u / focal length
    vec4 fwd;    // unit view direction
    uvec4 info;  // width, height, feature count (a multiple of 4), layer count | 256 when RGBA
} pc;

const int MAXV = 64;  // LightFieldMlp::kMaxWidth / 4
vec4 h[2 * MAXV];     // two halves: the layer's input and its output

float feature(int k, vec3 o, vec3 d) {
    vec4 a = wts[2 * k], b = wts[2 * k + 1];
    float v = dot(a.xyz, o) + a.w * d.x + b.x * d.y + b.y * d.z + b.z;
    int fn = int(b.w);
    return fn == 1 ? sin(v) : (fn == 2 ? cos(v) : v);
}

vec4 activate(vec4 v, int act) {
    if (act == 1) return max(v, vec4(0.0));
    if (act == 2) return 1.0 / (1.0 + exp(-v));
    return v;
}

void main() {
    uvec2 p = gl_GlobalInvocationID.xy;
    bool inside = p.x < pc.info.x && p.y < pc.info.y;
    float dx = float(p.x) + 0.5 - 0.5 * float(pc.info.x);
    float dy = float(p.y) + 0.5 - 0.5 * float(pc.info.y);
    vec3 d = normalize(pc.right.xyz * dx - pc.up.xyz * dy + pc.fwd.xyz);
    // The ray's point nearest the world origin (light_field_mlp.h).
    vec3 o = pc.eye.xyz - dot(pc.eye.xyz, d) * d;
    int features4 = int(pc.info.z) / 4;
    for (int k = 0; k < features4; ++k)
        h[k] = vec4(feature(4 * k, o, d), feature(4 * k + 1, o, d), feature(4 * k + 2, o, d), feature(4 * k + 3, o, d));
    int src = 0;
    int layers = int(pc.info.w & 255u);
    bool rgba = (pc.info.w & 256u) != 0u;
    for (int l = 0; l < layers; ++l) {
        int in4 = net[l * 5], out4 = net[l * 5 + 1], act = net[l * 5 + 2], wo = net[l * 5 + 3], bo = net[l * 5 + 4];
        int dst = MAXV - src;
        for (int j = 0; j < out4; ++j) {
            vec4 acc = wts[bo + j];
            int r0 = wo + 4 * j * in4;
            for (int i = 0; i < in4; ++i) {
                vec4 x = h[src + i];
                int at = r0 + 4 * i;
                acc += vec4(dot(wts[at], x), dot(wts[at + 1], x), dot(wts[at + 2], x), dot(wts[at + 3], x));
            }
            h[dst + j] = activate(acc, act);
        }
        src = dst;
    }
    vec4 c = h[src];
    if (!rgba) c.a = 1.0;  // an RGB model's fourth output is padding
    if (inside) pixels[p.y * pc.info.x + p.x] = packUnorm4x8(clamp(c, 0.0, 1.0));
}
