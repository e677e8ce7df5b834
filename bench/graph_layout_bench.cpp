// Graph view benchmark: layered layout of a 20k-op transformer-like graph against a naive
// baseline (longest-path layers, grid placement, no crossing reduction), and DrawList building
// while panning at several zoom levels. Goals: layout < 2 s, DrawList well under 16 ms.
//
//   graph_layout_bench [nodes=20000] [runs=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "importers/importer_registry.h"
#include "views/graph_layout.h"
#include "views/graph_view.h"
#include "views/sample_graphs.h"

using namespace by;
using Clock = std::chrono::steady_clock;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

struct Stats {
    double median = 0, min = 0, max = 0, p95 = 0;
};
Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    Stats s;
    if (v.empty()) return s;
    s.median = v[v.size() / 2];
    s.min = v.front();
    s.max = v.back();
    s.p95 = v[std::min(v.size() - 1, v.size() * 95 / 100)];
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    const int target = argc > 1 ? std::atoi(argv[1]) : 20000;
    const int runs = argc > 2 ? std::atoi(argv[2]) : 5;
    std::printf("machine: %u hardware threads (nproc), CPU: %s\n", std::thread::hardware_concurrency(), cpuModel().c_str());

    auto t0 = Clock::now();
    Model model = makeTransformerSample(target);
    std::printf("graph: %zu ops, %zu values (generated in %.0f ms)\n", model.graph.nodes.size(), model.graph.values.size(),
                ms(Clock::now() - t0));

    std::vector<double> layoutMs, naiveMs;
    GraphLayout layout;
    for (int r = 0; r < runs; ++r) {
        t0 = Clock::now();
        auto res = layoutGraph(model.graph);
        layoutMs.push_back(ms(Clock::now() - t0));
        if (!res) {
            std::printf("layout failed: %s\n", res.error().what().c_str());
            return 1;
        }
        layout = std::move(res.value());
    }
    GraphLayout naive;
    for (int r = 0; r < runs; ++r) {
        t0 = Clock::now();
        auto res = layoutGraphNaive(model.graph);
        naiveMs.push_back(ms(Clock::now() - t0));
        naive = std::move(res.value());
    }
    const Stats ls = stats(layoutMs), ns = stats(naiveMs);
    std::printf("layout (Sugiyama): median %.1f ms, min %.1f ms over %d runs  [goal < 2000 ms]\n", ls.median, ls.min, runs);
    std::printf("baseline (naive longest-path + grid): median %.1f ms, min %.1f ms; ratio %.2fx\n", ns.median, ns.min,
                ls.median / std::max(1e-9, ns.median));
    std::printf("  boxes %zu, edges %zu, layers %zu, dummies %d, crossings %lld, extent %.0f x %.0f\n", layout.nodes.size(),
                layout.edges.size(), layout.layers.size(), layout.dummyCount, static_cast<long long>(layout.crossings),
                layout.bounds.w, layout.bounds.h);
    std::printf("  naive extent %.0f x %.0f\n", naive.bounds.w, naive.bounds.h);

    // Collapsing every block into a group box.
    {
        LayoutOptions opt;
        opt.collapsedScopes = {"model"};
        ScopeTree tree = scopeTree(model.graph);
        opt.collapsedScopes.clear();
        for (const auto& s : tree.scopes)
            if (s.depth == 2) opt.collapsedScopes.insert(s.path);
        t0 = Clock::now();
        auto res = layoutGraph(model.graph, opt);
        std::printf("layout with %zu scopes collapsed: %.1f ms, %zu boxes\n", opt.collapsedScopes.size(), ms(Clock::now() - t0),
                    res ? res->nodes.size() : 0);
    }

    // A real attention model, when the demo assets are present.
    {
        const char* home = std::getenv("HOME");
        const char* cache = std::getenv("BRICKYARD_CACHE");
        const std::string path = (cache && *cache ? std::string(cache) : std::string(home ? home : "/tmp") + "/.cache/brickyard") +
                                 "/models/ch_PP-OCRv4_rec_infer.onnx";
        if (std::ifstream(path).good()) {
            auto real = loadModel(path);
            if (real) {
                std::vector<double> t;
                size_t boxes = 0;
                for (int r = 0; r < runs; ++r) {
                    t0 = Clock::now();
                    auto res = layoutGraph(real->graph);
                    t.push_back(ms(Clock::now() - t0));
                    boxes = res ? res->nodes.size() : 0;
                }
                const Stats rs = stats(t);
                std::printf("ch_PP-OCRv4_rec_infer.onnx: %zu ops -> %zu boxes, layout median %.1f ms, min %.1f ms\n",
                            real->graph.nodes.size(), boxes, rs.median, rs.min);
            }
        }
    }

    auto shared = std::make_shared<const GraphLayout>(std::move(layout));
    GraphView view;
    t0 = Clock::now();
    view.setLayout(shared, std::shared_ptr<const Graph>(std::shared_ptr<const Model>(), &model.graph));
    std::printf("spatial index build: %.1f ms\n", ms(Clock::now() - t0));
    view.setViewportSize(1280, 800);
    view.fitToView();
    const float fitZoom = view.zoom();

    DrawList dl;
    struct Level {
        const char* name;
        float zoom;
    };
    const Level levels[] = {{"zoom 1.0 (full)", 1.0f}, {"zoom 0.5 (boxes)", 0.5f}, {"zoom 0.15 (overview)", 0.15f},
                            {"zoom 0.03 (overview)", 0.03f}, {"fit all", fitZoom}};
    for (const auto& lv : levels) {
        std::vector<double> times;
        size_t rects = 0, texts = 0, lines = 0;
        const RectF b = shared->bounds;
        const int steps = 240;
        for (int i = 0; i < steps; ++i) {
            // A sweep down the graph's centre line, wiggling sideways.
            const float t = static_cast<float>(i) / (steps - 1);
            const float wx = b.centerX() + (i % 2 ? 1 : -1) * 100.0f;
            const float wy = b.y + t * b.h;
            view.setTransform(lv.zoom, PointF{640 - wx * lv.zoom, 400 - wy * lv.zoom});
            const auto s = Clock::now();
            view.buildDrawList(dl);
            times.push_back(ms(Clock::now() - s));
            rects += dl.rects.size();
            texts += dl.texts.size();
            lines += dl.lines.size();
        }
        const Stats st = stats(times);
        std::printf("DrawList %-22s median %.3f ms, p95 %.3f ms, max %.3f ms; per frame %zu rects, %zu lines, %zu texts\n",
                    lv.name, st.median, st.p95, st.max, rects / steps, lines / steps, texts / steps);
    }
    return 0;
}
