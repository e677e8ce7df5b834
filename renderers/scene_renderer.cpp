#include "renderers/scene_renderer.h"

#include <chrono>

#include "renderers/mesh_reference.h"
#include "renderers/splat_reference.h"
#include "renderers/vulkan_context.h"

namespace by {

struct SceneRenderer::Impl {
    std::shared_ptr<VulkanContext> ctx;
    std::unique_ptr<MeshRenderer> meshes;
    std::unique_ptr<SplatRenderer> splats;
    bool hasMeshes = false;
    bool hasSplats = false;
    int maxShDegree = -1;
    double ms = 0;
};

SceneRenderer::SceneRenderer() : m(std::make_unique<Impl>()) {}
SceneRenderer::~SceneRenderer() = default;
double SceneRenderer::lastMs() const { return m->ms; }
size_t SceneRenderer::splatCount() const { return m->splats ? m->splats->splatCount() : 0; }
size_t SceneRenderer::meshDraws() const { return m->meshes ? m->meshes->drawCount() : 0; }

void SceneRenderer::setMaxShDegree(int degree) {
    m->maxShDegree = degree;
    if (m->splats) m->splats->setMaxShDegree(degree);
}

Result<std::unique_ptr<SceneRenderer>> SceneRenderer::create(std::shared_ptr<VulkanContext> ctx) {
    std::unique_ptr<SceneRenderer> r(new SceneRenderer());
    r->m->ctx = std::move(ctx);
    return r;
}

Status SceneRenderer::setScene(const Scene& scene) {
    Impl& s = *m;
    s.hasMeshes = !scene.meshes.empty();
    if (s.hasMeshes && !s.meshes) {
        auto r = MeshRenderer::create(s.ctx);
        if (!r) return std::move(r.error());
        s.meshes = std::move(*r);
    }
    if (s.meshes) BY_TRY(s.meshes->setMeshes(scene.meshes));
    return setSplats(scene.splats);
}

Status SceneRenderer::setSplats(const SplatCloud& cloud) {
    Impl& s = *m;
    s.hasSplats = cloud.size() > 0;
    if (s.hasSplats && !s.splats) {
        auto r = SplatRenderer::create(s.ctx);  // the tile method: the one that composites with depth
        if (!r) return std::move(r.error());
        s.splats = std::move(*r);
        s.splats->setMaxShDegree(s.maxShDegree);
    }
    if (s.splats) BY_TRY(s.splats->setSplats(cloud));
    return {};
}

Result<Image> SceneRenderer::render(const RenderView& view) {
    Impl& s = *m;
    const auto t0 = std::chrono::steady_clock::now();
    Result<Image> out = makeError(ErrorCode::Internal, "no renderer");
    if (s.hasMeshes && s.hasSplats) {
        std::vector<float> depth;
        auto under = s.meshes->render(view, &depth);
        if (!under) return under;
        const SplatUnderlay u{&*under, &depth};
        out = s.splats->render(view, &u);
    } else if (s.hasMeshes) {
        out = s.meshes->render(view);
    } else {
        // An empty scene draws the background (the splat renderer's empty path).
        if (!s.splats) {
            auto r = SplatRenderer::create(s.ctx);
            if (!r) return std::move(r.error());
            s.splats = std::move(*r);
        }
        out = s.splats->render(view);
    }
    s.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

Image renderSceneReference(const Scene& scene, const RenderView& view) {
    if (scene.meshes.empty()) return renderSplatsReference(scene.splats, view);
    if (scene.splats.size() == 0) return renderMeshesReference(scene.meshes, view);
    std::vector<float> depth;
    const Image under = renderMeshesReference(scene.meshes, view, &depth);
    const SplatUnderlay u{&under, &depth};
    return renderSplatsReference(scene.splats, view, &u);
}

}  // namespace by
