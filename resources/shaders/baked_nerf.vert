#version 450
// Baked neural scene (MobileNeRF form): mesh-frame positions and feature-texture coordinates; the
// CPU reference (renderers/baked_nerf_reference.cpp) interpolates the same two perspective-correctly.
layout(location = 0) in vec3 inPosition;
layout(location = 1) in vec2 inUv;

layout(push_constant) uniform Push {
    mat4 viewProj;
    vec4 eye;  // xyz: camera position
} pc;

layout(location = 0) out vec3 worldPos;
layout(location = 1) out vec2 uv;

void main() {
    worldPos = inPosition;
    uv = inUv;
    gl_Position = pc.viewProj * vec4(inPosition, 1.0);
}
