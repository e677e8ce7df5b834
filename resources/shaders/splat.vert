#version 450
// One quad (a 4-vertex strip) per Gaussian, in the sorted order given by `order`: the rectangle
// around the footprint ellipse, along the ellipse's axes.
layout(std430, set = 0, binding = 0) readonly buffer Projected { vec4 projected[]; };
layout(std430, set = 0, binding = 1) readonly buffer Order { uint order[]; };

layout(push_constant) uniform Push {
    vec4 viewport;  // width, height
} pc;

layout(location = 0) flat out vec2 center;
layout(location = 1) flat out vec4 conicOpacity;
layout(location = 2) flat out vec3 color;

const vec2 kCorners[4] = vec2[](vec2(-1, -1), vec2(1, -1), vec2(-1, 1), vec2(1, 1));

void main() {
    uint idx = order[gl_InstanceIndex];
    vec4 c = projected[idx * 4 + 2];
    if (c.w <= 0.0) {
        gl_Position = vec4(0.0, 0.0, 2.0, 1.0);  // outside the clip volume: culled
        return;
    }
    vec4 g = projected[idx * 4];
    vec2 major = g.zw;
    vec2 minor = vec2(-major.y, major.x) * c.w;
    vec2 k = kCorners[gl_VertexIndex];
    vec2 px = g.xy + k.x * major + k.y * minor;
    gl_Position = vec4(px / pc.viewport.xy * 2.0 - 1.0, 0.5, 1.0);
    center = g.xy;
    conicOpacity = projected[idx * 4 + 1];
    color = c.rgb;
}
