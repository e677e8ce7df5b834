// brickyard-paint-bench: paints the graph canvas the way a person uses it, for numbers and looks.
//
//   brickyard-paint-bench [--nodes N] [--dump-frames DIR]   repaint timing while panning (default)
//   brickyard-paint-bench --screenshot out.png [--model file.onnx | --sample transformer|convnet]
//                         [--nodes N] [--zoom Z] [--center NODE_NAME | --center-op OP_TYPE]
//                         [--collapse SCOPE]...
//                         [--size WxH]
// Run it under Xvfb: xvfb-run -a -s "-screen 0 1280x800x24" brickyard-paint-bench
#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QImage>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "app/gui/graph_canvas.h"
#include "importers/importer_registry.h"
#include "views/graph_view.h"
#include "views/sample_graphs.h"

namespace {

std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

bool waitForLayout(GraphCanvas& canvas, int timeoutMs) {
    if (canvas.view()->layout() && !canvas.isLayoutRunning()) return true;
    QEventLoop loop;
    bool done = false;
    QObject::connect(&canvas, &GraphCanvas::layoutFinished, &loop, [&] {
        done = true;
        loop.quit();
    });
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    loop.exec();
    return done;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    std::string screenshot, modelPath, sample = "transformer", center, centerOp, dumpDir;
    int nodes = 20000, width = 1280, height = 800;
    double zoom = 0;
    std::set<std::string> collapse;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : std::string(); };
        if (a == "--screenshot") screenshot = next();
        else if (a == "--model") modelPath = next();
        else if (a == "--sample") sample = next();
        else if (a == "--nodes") nodes = std::stoi(next());
        else if (a == "--zoom") zoom = std::stod(next());
        else if (a == "--center") center = next();
        else if (a == "--center-op") centerOp = next();
        else if (a == "--collapse") collapse.insert(next());
        else if (a == "--size") std::sscanf(next().c_str(), "%dx%d", &width, &height);
        else if (a == "--dump-frames") dumpDir = next();
        else if (a == "--bench-paint") {
        } else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }

    auto model = std::make_shared<by::Model>();
    if (!modelPath.empty()) {
        auto loaded = by::loadModel(modelPath);
        if (!loaded) {
            std::fprintf(stderr, "%s\n", loaded.error().what().c_str());
            return 1;
        }
        *model = std::move(loaded.value());
    } else if (sample == "convnet") {
        *model = by::makeConvNetSample();
    } else {
        *model = by::makeTransformerSample(nodes);
    }

    GraphCanvas canvas;
    canvas.resize(width, height);
    canvas.show();
    canvas.setModel(model);
    if (!collapse.empty()) canvas.setCollapsedScopes(collapse);
    if (!waitForLayout(canvas, 60000)) {
        std::fprintf(stderr, "layout did not finish\n");
        return 1;
    }

    if (!screenshot.empty()) {
        if (!center.empty()) {
            for (size_t n = 0; n < model->graph.nodes.size(); ++n)
                if (model->graph.nodes[n].name == center) canvas.centerOnNode(static_cast<int>(n));
        }
        if (!centerOp.empty()) {
            for (size_t n = 0; n < model->graph.nodes.size(); ++n)
                if (model->graph.nodes[n].opType == centerOp) {
                    canvas.centerOnNode(static_cast<int>(n));
                    break;
                }
        }
        if (zoom > 0) canvas.setZoom(zoom);
        app.processEvents();
        const QImage img = canvas.grab().toImage();
        if (!img.save(QString::fromStdString(screenshot))) {
            std::fprintf(stderr, "could not write %s\n", screenshot.c_str());
            return 1;
        }
        std::printf("wrote %s (%dx%d), %zu boxes\n", screenshot.c_str(), img.width(), img.height(),
                    canvas.view()->layout()->nodes.size());
        return 0;
    }

    std::printf("machine: %u hardware threads (nproc), CPU: %s, platform %s\n", std::thread::hardware_concurrency(),
                cpuModel().c_str(), qPrintable(QGuiApplication::platformName()));
    std::printf("graph: %zu ops, canvas %dx%d\n", model->graph.nodes.size(), width, height);
    const int frames = 120;
    for (double z : {1.0, 0.5, 0.15, 0.0}) {
        canvas.fitToView();
        if (z > 0) {
            canvas.setZoom(z);
            canvas.centerOnNode(static_cast<int>(model->graph.nodes.size() / 2));
            canvas.setZoom(z);
        }
        app.processEvents();
        std::vector<double> repaintMs, grabMs;
        for (int f = 0; f < frames; ++f) {
            canvas.panBy(f % 40 < 20 ? 7.0 : -7.0, -11.0);
            QElapsedTimer t;
            t.start();
            canvas.repaint();
            repaintMs.push_back(t.nsecsElapsed() * 1e-6);
        }
        for (int f = 0; f < frames; ++f) {
            canvas.panBy(f % 40 < 20 ? -7.0 : 7.0, 11.0);
            QElapsedTimer t;
            t.start();
            const QPixmap pm = canvas.grab();
            grabMs.push_back(t.nsecsElapsed() * 1e-6);
        }
        by::DrawList dl;
        canvas.view()->buildDrawList(dl);
        if (!dumpDir.empty())
            canvas.grab().save(QString::fromStdString(dumpDir + "/frame_zoom_" + (z > 0 ? std::to_string(z) : "fit") + ".png"));
        const double r = median(repaintMs), g = median(grabMs);
        std::printf("  last frame: %d boxes, %d edges visible; %zu rects, %zu polylines, %zu texts\n", dl.visibleNodes,
                    dl.visibleEdges, dl.rects.size(), dl.lines.size(), dl.texts.size());
        std::printf("zoom %-6s repaint median %.2f ms (%.0f fps), grab median %.2f ms (%.0f fps)  [goal >= 60 fps]\n",
                    z > 0 ? QByteArray::number(z).constData() : "fit", r, 1000.0 / r, g, 1000.0 / g);
    }
    return 0;
}
