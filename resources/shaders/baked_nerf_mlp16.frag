#version 450
// baked_nerf.frag specialised to MobileNeRF's own network, 11 -> 16 -> 16 -> 3: with every loop
// bound a constant the activations stay in registers instead of the generic shader's indexed
// arrays (which CPU Vulkan drivers keep in memory). Same rule, same buffer; keep the two in step.
#extension GL_EXT_control_flow_attributes : require
layout(push_constant) uniform Push {
    mat4 viewProj;
    vec4 eye;
} pc;

layout(set = 0, binding = 0) uniform sampler2D features0;
layout(set = 0, binding = 1) uniform sampler2D features1;
layout(std430, set = 0, binding = 2) readonly buffer Mlp {
    int layerCount;
    int zUp;
    int ins[8];
    int outs[8];
    int offsets[8];
    float data[];
} mlp;
// The same buffer's first 16 KB as a uniform block: CPU drivers load uniform-block values with
// constant offsets once for all the pixels they shade together, storage-buffer values per pixel.
layout(std140, set = 0, binding = 3) uniform MlpConstants {
    vec4 words[1024];
} mlpc;
// Float k of the MLP's data: 26 header words come first.
float w(int k) {
    return mlpc.words[(26 + k) / 4][(26 + k) % 4];
}

layout(location = 0) in vec3 worldPos;
layout(location = 1) in vec2 uv;
layout(location = 0) out vec4 outColor;

void main() {
    vec4 t0 = texture(features0, uv);
    if (t0.r == 0.0) discard;
    vec4 t1 = texture(features1, uv);
    t0.a = t0.a * 2.0 - 1.0;
    t1.a = t1.a * 2.0 - 1.0;
    vec3 d = normalize(worldPos - pc.eye.xyz);
    float x[11];
    x[0] = t0.r; x[1] = t0.g; x[2] = t0.b; x[3] = t0.a;
    x[4] = t1.r; x[5] = t1.g; x[6] = t1.b; x[7] = t1.a;
    x[8] = d.x;
    if (mlp.zUp != 0) {
        x[9] = -d.z; x[10] = d.y;
    } else {
        x[9] = d.y; x[10] = d.z;
    }
    // The renderer packs layer after layer, weights [out][in] then bias [out]: for this shape the
    // layers start at 0, 192 and 464. Constant offsets let the driver load each weight once for
    // all pixels it shades together rather than once per pixel.
    float h1[16];
    const int off0 = 0, off1 = 11 * 16 + 16, off2 = off1 + 16 * 16 + 16;
    int off = off0;
    [[unroll]] for (int o = 0; o < 16; ++o) {
        float acc = w(off + 16 * 11 + o);
        [[unroll]] for (int i = 0; i < 11; ++i) acc += w(off + o * 11 + i) * x[i];
        h1[o] = max(acc, 0.0);
    }
    float h2[16];
    off = off1;
    [[unroll]] for (int o = 0; o < 16; ++o) {
        float acc = w(off + 16 * 16 + o);
        [[unroll]] for (int i = 0; i < 16; ++i) acc += w(off + o * 16 + i) * h1[i];
        h2[o] = max(acc, 0.0);
    }
    vec3 rgb;
    off = off2;
    [[unroll]] for (int o = 0; o < 3; ++o) {
        float acc = w(off + 3 * 16 + o);
        [[unroll]] for (int i = 0; i < 16; ++i) acc += w(off + o * 16 + i) * h2[i];
        rgb[o] = 1.0 / (1.0 + exp(-acc));
    }
    outColor = vec4(rgb, 1.0);
}
