#include "views/viewport_overlay.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace by {

namespace {

// Makes `ctx` current for the lifetime of the guard: every overlay has its own ImGui context
// (one per open scene), and ImGui keeps the current one in a global.
class ContextGuard {
public:
    explicit ContextGuard(ImGuiContext* ctx) : m_prev(ImGui::GetCurrentContext()) { ImGui::SetCurrentContext(ctx); }
    ~ContextGuard() { ImGui::SetCurrentContext(m_prev); }

private:
    ImGuiContext* m_prev;
};

uint64_t fnv(uint64_t h, const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

constexpr ImGuiKey kKeyOf[] = {ImGuiKey_Tab,    ImGuiKey_LeftArrow, ImGuiKey_RightArrow, ImGuiKey_UpArrow,
                               ImGuiKey_DownArrow, ImGuiKey_Home,   ImGuiKey_End,        ImGuiKey_Delete,
                               ImGuiKey_Backspace, ImGuiKey_Enter,  ImGuiKey_Escape};
static_assert(sizeof kKeyOf / sizeof kKeyOf[0] == static_cast<size_t>(OverlayKey::Count));

}  // namespace

bool OverlayChanges::any() const {
    return shDegree || flyMode || background || screenshotWithOverlay || pathFrames || showBounds || showWireframe || goToBookmark >= 0 || addBookmark || home ||
           screenshot || exportPathVideo || hideOverlay;
}

OverlayState overlayStateFor(const ViewportController& c, const Scene& scene, const std::string& device) {
    OverlayState s;
    for (double ms : c.frameTimes()) s.frameTimesMs.push_back(static_cast<float>(ms));
    s.splats = scene.splats.size();
    s.cloudShDegree = scene.splats.shDegree;
    s.triangles = scene.triangleCount();
    s.meshes = scene.meshes.size();
    s.device = device;
    s.shDegree = c.settings().shDegree;
    s.flyMode = c.mode() == CameraMode::Fly;
    s.background = c.settings().background;
    s.screenshotWithOverlay = c.settings().screenshotWithOverlay;
    s.pathFrames = c.settings().pathFrames;
    s.showBounds = c.settings().showBounds;
    s.showWireframe = c.settings().showWireframe;
    for (const CameraBookmark& b : c.bookmarks()) s.bookmarks.push_back(b.name);
    s.currentBookmark = c.currentBookmark();
    return s;
}

namespace {

// Appends the segment a-b (world) in pixels, clipped to the part in front of the eye.
void appendSegment(const Mat4& vp, Vec3 a, Vec3 b, int width, int height, std::vector<float>& out) {
    Vec4 ca = vp * Vec4{a.x, a.y, a.z, 1}, cb = vp * Vec4{b.x, b.y, b.z, 1};
    const float nearW = 1e-3f;
    if (ca.w < nearW && cb.w < nearW) return;
    if (ca.w < nearW || cb.w < nearW) {
        const float t = (nearW - ca.w) / (cb.w - ca.w);
        const Vec4 c{ca.x + (cb.x - ca.x) * t, ca.y + (cb.y - ca.y) * t, ca.z + (cb.z - ca.z) * t, nearW};
        (ca.w < nearW ? ca : cb) = c;
    }
    out.push_back((ca.x / ca.w * 0.5f + 0.5f) * float(width));
    out.push_back((ca.y / ca.w * 0.5f + 0.5f) * float(height));
    out.push_back((cb.x / cb.w * 0.5f + 0.5f) * float(width));
    out.push_back((cb.y / cb.w * 0.5f + 0.5f) * float(height));
}

}  // namespace

void appendBoxLines(const Bounds& box, const Camera& camera, int width, int height, std::vector<float>& out) {
    if (width <= 0 || height <= 0) return;
    const Mat4 vp = camera.viewProjection(float(width) / float(height));
    auto corner = [&](int i) { return Vec3{i & 1 ? box.max.x : box.min.x, i & 2 ? box.max.y : box.min.y, i & 4 ? box.max.z : box.min.z}; };
    for (int i = 0; i < 8; ++i)
        for (int bit : {1, 2, 4})
            if (!(i & bit)) appendSegment(vp, corner(i), corner(i | bit), width, height, out);
}

bool appendWireframeLines(const std::vector<Mesh>& meshes, const Camera& camera, int width, int height, size_t maxEdges,
                          std::vector<float>& out) {
    size_t edges = 0;
    for (const Mesh& m : meshes) edges += m.indices.size();
    if (edges > maxEdges) return false;
    if (width <= 0 || height <= 0) return true;
    const Mat4 vp = camera.viewProjection(float(width) / float(height));
    out.reserve(out.size() + edges * 4);
    for (const Mesh& m : meshes)
        for (size_t t = 0; t + 2 < m.indices.size(); t += 3)
            for (int k = 0; k < 3; ++k)
                appendSegment(vp, m.positions[m.indices[t + size_t(k)]], m.positions[m.indices[t + size_t((k + 1) % 3)]], width, height, out);
    return true;
}

bool applyOverlayChanges(ViewportController& c, const OverlayChanges& ch) {
    bool render = false;
    if (ch.shDegree && *ch.shDegree != c.settings().shDegree) {
        c.setShDegree(*ch.shDegree);
        render = true;
    }
    if (ch.flyMode) c.setMode(*ch.flyMode ? CameraMode::Fly : CameraMode::Orbit);
    if (ch.background) {
        c.settings().background = *ch.background;
        c.invalidate();
        render = true;
    }
    if (ch.screenshotWithOverlay) c.settings().screenshotWithOverlay = *ch.screenshotWithOverlay;
    if (ch.pathFrames) c.settings().pathFrames = std::clamp(*ch.pathFrames, 2, 10000);
    if (ch.showBounds) c.settings().showBounds = *ch.showBounds;
    if (ch.showWireframe) c.settings().showWireframe = *ch.showWireframe;
    if (ch.addBookmark) c.addBookmark("view " + std::to_string(c.bookmarks().size() + 1));
    if (ch.goToBookmark >= 0 && c.goToBookmark(static_cast<size_t>(ch.goToBookmark))) render = true;
    if (ch.home) {
        c.home();
        render = true;
    }
    if (ch.hideOverlay) c.settings().showOverlay = false;
    return render;
}

ViewportOverlay::ViewportOverlay() {
    ImGuiContext* prev = ImGui::GetCurrentContext();
    m_ctx = ImGui::CreateContext();
    ImGui::SetCurrentContext(m_ctx);
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // the layout is fixed; nothing to remember between runs
    io.LogFilename = nullptr;
    io.ConfigFlags |= ImGuiConfigFlags_NoMouseCursorChange;
    for (int k = 0; k < static_cast<int>(OverlayKey::Count); ++k) io.KeyMap[kKeyOf[k]] = k;
    ImGui::StyleColorsDark();
    ImGuiStyle& style = ImGui::GetStyle();
    style.WindowRounding = 4;
    style.FrameRounding = 2;
    // The atlas is built here and handed to the renderer by the host (no ImGui backend).
    unsigned char* pixels = nullptr;
    int w = 0, h = 0;
    io.Fonts->GetTexDataAsRGBA32(&pixels, &w, &h);
    m_atlas.width = w, m_atlas.height = h;
    m_atlas.rgba.assign(pixels, pixels + static_cast<size_t>(w) * h * 4);
    io.Fonts->SetTexID(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(1)));
    ImGui::SetCurrentContext(prev);
}

ViewportOverlay::~ViewportOverlay() { ImGui::DestroyContext(m_ctx); }

std::optional<std::array<float, 4>> ViewportOverlay::widgetRect(const std::string& label) const {
    auto it = m_rects.find(label);
    if (it == m_rects.end()) return std::nullopt;
    return it->second;
}

void ViewportOverlay::remember(const std::string& label) {
    const ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    m_rects[label] = {a.x, a.y, b.x, b.y};
}

OverlayChanges ViewportOverlay::frame(int width, int height, OverlayInput& in, const OverlayState& state, double dt) {
    ContextGuard guard(m_ctx);
    ImGuiIO& io = ImGui::GetIO();
    OverlayChanges changes;
    uint64_t lastHash = 0;
    for (int pass = 0; pass < 3; ++pass) {
        io.DisplaySize = ImVec2(static_cast<float>(std::max(width, 1)), static_cast<float>(std::max(height, 1)));
        io.DeltaTime = static_cast<float>(pass == 0 ? std::clamp(dt, 1e-4, 1.0) : 1e-4);
        io.MousePos = ImVec2(in.mouseX, in.mouseY);
        for (int b = 0; b < 3; ++b) io.MouseDown[b] = in.mouseDown[b];
        io.MouseWheel = pass == 0 ? in.wheel : 0.0f;
        for (int k = 0; k < static_cast<int>(OverlayKey::Count); ++k) io.KeysDown[k] = in.keysDown[k];
        io.KeyCtrl = in.ctrl, io.KeyShift = in.shift, io.KeyAlt = in.alt;
        if (pass == 0)
            for (uint32_t c : in.chars) io.AddInputCharacter(c);
        ImGui::NewFrame();
        m_rects.clear();
        build(state, changes);
        ImGui::Render();
        m_wantsMouse = io.WantCaptureMouse;
        m_wantsKeyboard = io.WantCaptureKeyboard;

        const ImDrawData* dd = ImGui::GetDrawData();
        m_draw = OverlayDrawData{};
        for (int l = 0; dd && l < dd->CmdListsCount; ++l) {
            const ImDrawList* list = dd->CmdLists[l];
            const uint32_t base = static_cast<uint32_t>(m_draw.vertices.size());
            for (const ImDrawVert& v : list->VtxBuffer) m_draw.vertices.push_back({v.pos.x, v.pos.y, v.uv.x, v.uv.y, v.col});
            for (const ImDrawCmd& c : list->CmdBuffer) {
                if (c.UserCallback || c.ElemCount == 0) continue;
                OverlayDrawCmd oc;
                oc.firstIndex = static_cast<uint32_t>(m_draw.indices.size());
                oc.indexCount = c.ElemCount;
                for (unsigned k = 0; k < c.ElemCount; ++k)
                    m_draw.indices.push_back(base + c.VtxOffset + list->IdxBuffer[static_cast<int>(c.IdxOffset + k)]);
                oc.clip[0] = c.ClipRect.x - dd->DisplayPos.x, oc.clip[1] = c.ClipRect.y - dd->DisplayPos.y;
                oc.clip[2] = c.ClipRect.z - dd->DisplayPos.x, oc.clip[3] = c.ClipRect.w - dd->DisplayPos.y;
                m_draw.cmds.push_back(oc);
            }
        }
        uint64_t h = 1469598103934665603ull;
        h = fnv(h, m_draw.vertices.data(), m_draw.vertices.size() * sizeof(OverlayVertex));
        h = fnv(h, m_draw.indices.data(), m_draw.indices.size() * sizeof(uint32_t));
        for (const OverlayDrawCmd& c : m_draw.cmds) h = fnv(h, c.clip, sizeof c.clip);
        m_hash = h;
        if (pass > 0 && h == lastHash) break;
        lastHash = h;
    }
    in.wheel = 0;
    in.chars.clear();
    return changes;
}

void ViewportOverlay::build(const OverlayState& st, OverlayChanges& ch) {
    // Guides first, under the window.
    ImDrawList* guides = ImGui::GetBackgroundDrawList();
    auto lines = [&](const std::vector<float>& seg, ImU32 colour, float thickness) {
        for (size_t i = 0; i + 3 < seg.size(); i += 4)
            guides->AddLine(ImVec2(seg[i], seg[i + 1]), ImVec2(seg[i + 2], seg[i + 3]), colour, thickness);
    };
    if (st.showWireframe) lines(st.wireframeLines, IM_COL32(230, 230, 240, 90), 1.0f);
    if (st.showBounds) lines(st.boundsLines, IM_COL32(255, 200, 40, 230), 1.5f);
    ImGui::SetNextWindowPos(ImVec2(8, 8), ImGuiCond_Always);
    ImGui::SetNextWindowBgAlpha(0.72f);
    // A short viewport scrolls the window rather than cutting off its lower controls.
    const ImVec2 view = ImGui::GetIO().DisplaySize;
    ImGui::SetNextWindowSizeConstraints(ImVec2(0, 0), ImVec2(std::max(view.x - 16.0f, 64.0f), std::max(view.y - 16.0f, 64.0f)));
    const ImGuiWindowFlags flags = ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoMove;
    if (!ImGui::Begin("Viewport", nullptr, flags)) {
        ImGui::End();
        return;
    }
    // Frame times: the graph's full scale is the slowest recent frame, at least 16.7 ms (60 fps).
    const float last = st.frameTimesMs.empty() ? 0.0f : st.frameTimesMs.back();
    float top = 1000.0f / 60.0f;
    for (float v : st.frameTimesMs) top = std::max(top, v);
    char text[160];
    std::snprintf(text, sizeof text, "%.1f ms (%.0f fps)", last, last > 0 ? 1000.0 / last : 0.0);
    // A line needs two points: the first frame is drawn as a flat line at its time.
    const float one[2] = {last, last};
    const bool few = st.frameTimesMs.size() < 2;
    ImGui::PlotLines("##frametimes", few ? one : st.frameTimesMs.data(), few ? 2 : static_cast<int>(st.frameTimesMs.size()), 0, text,
                     0.0f, top * 1.25f, ImVec2(260, 48));
    remember("Frame times");
    if (st.splats > 0) ImGui::Text("%zu splats (SH degree %d)", st.splats, st.cloudShDegree);
    if (st.meshes > 0) ImGui::Text("%zu triangles in %zu meshes", st.triangles, st.meshes);
    if (!st.device.empty()) ImGui::TextDisabled("%s", st.device.c_str());
    if (!st.note.empty()) ImGui::TextUnformatted(st.note.c_str());

    if (ImGui::CollapsingHeader("Render settings", ImGuiTreeNodeFlags_DefaultOpen)) {
        if (st.splats > 0) {
            int sh = std::min(st.shDegree, st.cloudShDegree);
            ImGui::SetNextItemWidth(140);
            if (ImGui::SliderInt("SH degree", &sh, 0, std::max(0, st.cloudShDegree))) ch.shDegree = sh;
            remember("SH degree");
        }
        if (ImGui::RadioButton("Orbit", !st.flyMode)) ch.flyMode = false;
        remember("Orbit");
        ImGui::SameLine();
        if (ImGui::RadioButton("Fly", st.flyMode)) ch.flyMode = true;
        remember("Fly");
        ImGui::SameLine();
        if (ImGui::Button("Home")) ch.home = true;
        remember("Home");
        float bg[3] = {st.background.x, st.background.y, st.background.z};
        if (ImGui::ColorEdit3("Background", bg, ImGuiColorEditFlags_NoInputs)) ch.background = Vec4{bg[0], bg[1], bg[2], st.background.w};
        remember("Background");
        bool bounds = st.showBounds;
        if (ImGui::Checkbox("Bounding box", &bounds)) ch.showBounds = bounds;
        remember("Bounding box");
        if (st.triangles > 0) {
            ImGui::SameLine();
            bool wire = st.showWireframe;
            if (ImGui::Checkbox("Wireframe", &wire)) ch.showWireframe = wire;
            remember("Wireframe");
            if (st.showWireframe && !st.wireframeNote.empty()) ImGui::TextDisabled("%s", st.wireframeNote.c_str());
        }
    }
    if (ImGui::CollapsingHeader("Camera bookmarks", ImGuiTreeNodeFlags_DefaultOpen)) {
        for (size_t i = 0; i < st.bookmarks.size(); ++i) {
            ImGui::PushID(static_cast<int>(i));
            if (ImGui::Selectable(st.bookmarks[i].c_str(), static_cast<int>(i) == st.currentBookmark)) ch.goToBookmark = static_cast<int>(i);
            remember("Bookmark " + std::to_string(i + 1));
            ImGui::PopID();
        }
        if (ImGui::Button("Add bookmark")) ch.addBookmark = true;
        remember("Add bookmark");
    }
    if (ImGui::CollapsingHeader("Export", ImGuiTreeNodeFlags_DefaultOpen)) {
        bool with = st.screenshotWithOverlay;
        if (ImGui::Checkbox("Overlay in screenshot", &with)) ch.screenshotWithOverlay = with;
        remember("Overlay in screenshot");
        if (ImGui::Button("Screenshot")) ch.screenshot = true;
        remember("Screenshot");
        int frames = st.pathFrames;
        ImGui::SetNextItemWidth(140);
        if (ImGui::SliderInt("Path frames", &frames, 2, 600)) ch.pathFrames = frames;
        remember("Path frames");
        const bool canExport = st.bookmarks.size() >= 2;
        ImGui::BeginDisabled(!canExport);
        if (ImGui::Button("Export path video")) ch.exportPathVideo = true;
        remember("Export path video");
        ImGui::EndDisabled();
        if (!canExport) ImGui::TextDisabled("(needs two bookmarks)");
    }
    if (ImGui::SmallButton("Hide overlay (O)")) ch.hideOverlay = true;
    remember("Hide overlay");
    ImGui::End();
}

}  // namespace by
