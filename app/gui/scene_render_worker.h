#pragma once
// Renders the frames of one 3D tab on a thread of its own, so that a frame that takes a second
// (a million splats, a light field on a CPU device) never stops the window: the camera keeps
// moving, and the next frame asked for is the newest view.
//
// The worker owns the renderer (made by `factory` on the worker thread, with its own Vulkan
// device) and does everything with it there: commands (new scene data, render settings) run in
// the order they were posted, before the next frame; a frame request replaces any request that
// has not started yet, so at most one frame is pending behind the one being drawn. Each finished
// frame is handed to `deliver` on the worker thread (the tab moves it to the UI thread).
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/error.h"
#include "renderers/render_types.h"

// One renderer behind a 3D tab: meshes and splats, a light field, a baked scene.
class FrameRenderer {
public:
    virtual ~FrameRenderer() = default;
    virtual by::Result<by::Image> render(const by::RenderView& view) = 0;
};

class SceneRenderWorker {
public:
    // Runs on the worker thread; fills `device` with the device's name.
    using Factory = std::function<by::Result<std::unique_ptr<FrameRenderer>>(std::string* device)>;
    using Command = std::function<by::Status(FrameRenderer&)>;
    struct Frame {
        uint64_t serial = 0;  // the request's
        by::Result<by::Image> image = by::Image{};
        double ms = 0;        // render() alone
    };

    SceneRenderWorker(Factory factory, std::function<void(std::shared_ptr<Frame>)> deliver);
    // Finishes the frame in flight, drops what is pending, and joins.
    ~SceneRenderWorker();
    SceneRenderWorker(const SceneRenderWorker&) = delete;
    SceneRenderWorker& operator=(const SceneRenderWorker&) = delete;

    // Runs before the next frame, after the commands posted before it. A failing command is
    // delivered as the next frame's error.
    void post(Command command);
    // Asks for a frame of `view`; replaces a request that has not started.
    void request(const by::RenderView& view, uint64_t serial);
    // Blocks until nothing is pending or running (exports and tests).
    void waitIdle();

    bool busy() const;
    // Empty until the renderer exists (or failed to).
    std::string deviceName() const;

private:
    void run();

    Factory m_factory;
    std::function<void(std::shared_ptr<Frame>)> m_deliver;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake, m_idle;
    std::deque<Command> m_commands;
    std::optional<std::pair<by::RenderView, uint64_t>> m_request;
    bool m_running = false;  // a command or frame in progress
    bool m_stop = false;
    std::string m_device;
    std::thread m_thread;
};
