#version 450
// Neural light field: one invocation per pixel builds the pixel's camera ray, encodes it and runs
// the MLP (renderers/light_field_mlp.h) on it, writing RGBA8. Same order of operations as
// evaluateLightFieldMlp() (the host twin).
layout(local_size_x = 8, local_size_y = 8) in;

// Per layer: in, out, activation (0 none, 1 relu, 2 sigmoid), weight offset, bias offset.
layout(std430, set = 0, binding = 0) readonly buffer Net { int net[]; };
// Features first (8 floats each: 6 ray weights, offset, function 0 linear / 1 sin / 2 cos), then
// each layer's [out][in] weights and its bias.
layout(std430, set = 0, binding = 1) readonly buffer Weights { float wts[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Pixels { uint pixels[]; };

layout(push_constant) uniform Push {
    vec4 eye;    // xyz
    vec4 right;  // camera s / focal length (pixels)
    vec4 up;     // camera u / focal length
    vec4 fwd;    // unit view direction
    uvec4 info;  // width, height, feature count, layer count
} pc;

const int MAXW = 256;  // LightFieldMlp::kMaxWidth
float h[2 * MAXW];     // two halves: the layer's input and its output

void main() {
    uvec2 p = gl_GlobalInvocationID.xy;
    if (p.x >= pc.info.x || p.y >= pc.info.y) return;
    float dx = float(p.x) + 0.5 - 0.5 * float(pc.info.x);
    float dy = float(p.y) + 0.5 - 0.5 * float(pc.info.y);
    vec3 d = normalize(pc.right.xyz * dx - pc.up.xyz * dy + pc.fwd.xyz);
    vec3 o = pc.eye.xyz;
    int features = int(pc.info.z);
    for (int k = 0; k < features; ++k) {
        int b = k * 8;
        float v = wts[b + 6] + wts[b] * o.x + wts[b + 1] * o.y + wts[b + 2] * o.z + wts[b + 3] * d.x + wts[b + 4] * d.y + wts[b + 5] * d.z;
        int fn = int(wts[b + 7]);
        h[k] = fn == 1 ? sin(v) : (fn == 2 ? cos(v) : v);
    }
    int src = 0;
    int layers = int(pc.info.w);
    int outCount = 0;
    for (int l = 0; l < layers; ++l) {
        int nIn = net[l * 5], nOut = net[l * 5 + 1], act = net[l * 5 + 2], wo = net[l * 5 + 3], bo = net[l * 5 + 4];
        int dst = MAXW - src;
        for (int j = 0; j < nOut; ++j) {
            float v = wts[bo + j];
            int row = wo + j * nIn;
            for (int i = 0; i < nIn; ++i) v += wts[row + i] * h[src + i];
            if (act == 1) v = max(v, 0.0);
            else if (act == 2) v = 1.0 / (1.0 + exp(-v));
            h[dst + j] = v;
        }
        src = dst;
        outCount = nOut;
    }
    vec4 c = vec4(h[src], h[src + 1], h[src + 2], outCount == 4 ? h[src + 3] : 1.0);
    pixels[p.y * pc.info.x + p.x] = packUnorm4x8(clamp(c, 0.0, 1.0));
}
