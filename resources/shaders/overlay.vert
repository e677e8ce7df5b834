#version 450
// Overlay (ImGui) triangles in pixel coordinates; y grows downwards, as in Vulkan's clip space,
// so pixel (0, 0) is the top-left corner of the image.
layout(location = 0) in vec2 inPosition;
layout(location = 1) in vec2 inUv;
layout(location = 2) in vec4 inColor;  // RGBA8 unorm

layout(push_constant) uniform Push {
    vec4 viewport;  // width, height
} pc;

layout(location = 0) out vec2 uv;
layout(location = 1) out vec4 color;

void main() {
    uv = inUv;
    color = inColor;
    gl_Position = vec4(inPosition / pc.viewport.xy * 2.0 - 1.0, 0.0, 1.0);
}
