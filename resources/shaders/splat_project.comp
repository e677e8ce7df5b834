#version 450
// Projects every Gaussian to the image: 2D covariance through the Jacobian of the perspective
// projection, its conic (inverse), its footprint rectangle, and the SH colour for the view direction.
// Same math as projectSplat() in renderers/splat_projection.h (the CPU reference).
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Positions { vec4 positions[]; };     // xyz, opacity
layout(std430, set = 0, binding = 1) readonly buffer Covariances { float cov[]; };       // 6 per splat
layout(std430, set = 0, binding = 2) readonly buffer Sh { float sh[]; };                 // coeffs*3 per splat
layout(std430, set = 0, binding = 3) writeonly buffer Projected { vec4 projected[]; };   // 4 per splat

layout(push_constant) uniform Push {
    mat4 view;
    vec4 eye;       // xyz
    vec4 focal;     // fx, fy, width, height
    vec4 params;    // tanHalfFovX, tanHalfFovY, near, count
    ivec4 shInfo;   // degree, coefficients per splat
} pc;

vec3 evalSh(uint base, int degree, vec3 d) {
    const float C0 = 0.28209479177387814;
    const float C1 = 0.4886025119029199;
    float basis[16];
    basis[0] = C0;
    int n = 1;
    if (degree > 0) {
        float x = d.x, y = d.y, z = d.z;
        basis[1] = -C1 * y; basis[2] = C1 * z; basis[3] = -C1 * x;
        n = 4;
        if (degree > 1) {
            float xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
            basis[4] = 1.0925484305920792 * xy;
            basis[5] = -1.0925484305920792 * yz;
            basis[6] = 0.31539156525252005 * (2.0 * zz - xx - yy);
            basis[7] = -1.0925484305920792 * xz;
            basis[8] = 0.5462742152960396 * (xx - yy);
            n = 9;
            if (degree > 2) {
                basis[9] = -0.5900435899266435 * y * (3.0 * xx - yy);
                basis[10] = 2.890611442640554 * xy * z;
                basis[11] = -0.4570457994644658 * y * (4.0 * zz - xx - yy);
                basis[12] = 0.3731763325901154 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy);
                basis[13] = -0.4570457994644658 * x * (4.0 * zz - xx - yy);
                basis[14] = 1.445305721320277 * z * (xx - yy);
                basis[15] = -0.5900435899266435 * x * (xx - 3.0 * yy);
                n = 16;
            }
        }
    }
    vec3 c = vec3(0.5);
    for (int k = 0; k < n; ++k)
        c += basis[k] * vec3(sh[base + k * 3], sh[base + k * 3 + 1], sh[base + k * 3 + 2]);
    return max(c, vec3(0.0));
}

void main() {
    uint i = gl_GlobalInvocationID.x;
    uint count = uint(pc.params.w);
    if (i >= count) return;
    projected[i * 4 + 2] = vec4(0.0);  // minor ratio 0: culled, unless set below
    vec3 p = positions[i].xyz;
    vec4 t4 = pc.view * vec4(p, 1.0);
    float tz = -t4.z;
    if (tz <= pc.params.z) return;
    float fx = pc.focal.x, fy = pc.focal.y;
    float limX = 1.3 * pc.params.x, limY = 1.3 * pc.params.y;
    float tx = clamp(t4.x / tz, -limX, limX) * tz;
    float ty = clamp(t4.y / tz, -limY, limY) * tz;
    // J = [[fx/tz, 0, fx*tx/tz^2], [0, -fy/tz, -fy*ty/tz^2]] (image y points down).
    mat3 J = mat3(fx / tz, 0.0, 0.0,
                  0.0, -fy / tz, 0.0,
                  fx * tx / (tz * tz), -fy * ty / (tz * tz), 0.0);
    mat3 W = mat3(pc.view);
    float c0 = cov[i * 6], c1 = cov[i * 6 + 1], c2 = cov[i * 6 + 2];
    float c3 = cov[i * 6 + 3], c4 = cov[i * 6 + 4], c5 = cov[i * 6 + 5];
    mat3 S = mat3(c0, c1, c2, c1, c3, c4, c2, c4, c5);
    mat3 T = J * W;
    mat3 C = T * S * transpose(T);
    float a = C[0][0] + 0.3, b = C[0][1], c = C[1][1] + 0.3;
    float det = a * c - b * b;
    if (det <= 0.0) return;
    // Footprint: the ellipse at k^2 = min(9, 2 ln(255 opacity)) standard deviations.
    float opacity = positions[i].w;
    if (opacity * 255.0 <= 1.0) return;
    float k2 = min(9.0, 2.0 * log(255.0 * opacity));
    float mid = 0.5 * (a + c);
    float disc = sqrt(max(0.0, mid * mid - det));
    float l1 = mid + disc, l2 = max(mid - disc, 1e-6);
    vec2 v = vec2(b, l1 - a);
    if (abs(b) < 1e-9) v = a >= c ? vec2(1.0, 0.0) : vec2(0.0, 1.0);
    v = normalize(v);
    float major = sqrt(k2 * l1);
    float halfW = sqrt(k2 * a), halfH = sqrt(k2 * c);
    float cx = fx * t4.x / tz + 0.5 * pc.focal.z;
    float cy = -fy * t4.y / tz + 0.5 * pc.focal.w;
    if (cx + halfW < 0.0 || cx - halfW > pc.focal.z || cy + halfH < 0.0 || cy - halfH > pc.focal.w) return;
    vec3 dir = normalize(p - pc.eye.xyz);
    vec3 color = evalSh(i * uint(pc.shInfo.y) * 3u, pc.shInfo.x, dir);
    projected[i * 4] = vec4(cx, cy, v * major);
    projected[i * 4 + 1] = vec4(c / det, -b / det, a / det, opacity);
    projected[i * 4 + 2] = vec4(color, sqrt(l2 / l1));
    projected[i * 4 + 3] = vec4(halfW, halfH, tz, 0.0);
}
