#include "app/gui/scene_render_worker.h"

#include <chrono>

SceneRenderWorker::SceneRenderWorker(Factory factory, std::function<void(std::shared_ptr<Frame>)> deliver)
    : m_factory(std::move(factory)), m_deliver(std::move(deliver)) {
    m_thread = std::thread([this] { run(); });
}

SceneRenderWorker::~SceneRenderWorker() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
        m_commands.clear();
        m_request.reset();
    }
    m_wake.notify_all();
    m_thread.join();
}

void SceneRenderWorker::post(Command command) {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_commands.push_back(std::move(command));
    }
    m_wake.notify_all();
}

void SceneRenderWorker::request(const by::RenderView& view, uint64_t serial) {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_request = std::make_pair(view, serial);
    }
    m_wake.notify_all();
}

void SceneRenderWorker::waitIdle() {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_idle.wait(lock, [this] { return m_stop || (!m_running && m_commands.empty() && !m_request); });
}

bool SceneRenderWorker::busy() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_running || !m_commands.empty() || m_request.has_value();
}

std::string SceneRenderWorker::deviceName() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_device;
}

void SceneRenderWorker::run() {
    std::unique_ptr<FrameRenderer> renderer;
    std::optional<by::Error> setupError;
    std::optional<by::Error> commandError;
    bool made = false;
    for (;;) {
        Command command;
        std::optional<std::pair<by::RenderView, uint64_t>> request;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_running = false;
            if (m_commands.empty() && !m_request) m_idle.notify_all();
            m_wake.wait(lock, [this] { return m_stop || !m_commands.empty() || m_request.has_value(); });
            if (m_stop) break;
            m_running = true;
            if (!m_commands.empty()) {
                command = std::move(m_commands.front());
                m_commands.pop_front();
            } else {
                request = std::move(m_request);
                m_request.reset();
            }
        }
        // The renderer (and its Vulkan device) is made here, on first use, so that every call
        // on it comes from this thread.
        if (!made) {
            made = true;
            std::string device;
            auto r = m_factory(&device);
            if (r) renderer = std::move(*r);
            else setupError = r.error();
            std::lock_guard<std::mutex> lock(m_mutex);
            m_device = device;
        }
        if (command) {
            if (renderer && !setupError) {
                if (auto st = command(*renderer); !st && !commandError) commandError = st.error();
            }
            continue;
        }
        auto frame = std::make_shared<Frame>();
        frame->serial = request->second;
        if (setupError) {
            frame->image = *setupError;
        } else if (commandError) {
            frame->image = *commandError;
            commandError.reset();
        } else {
            const auto t0 = std::chrono::steady_clock::now();
            frame->image = renderer->render(request->first);
            frame->ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        }
        m_deliver(std::move(frame));
    }
    renderer.reset();  // on this thread, as it was made
    std::lock_guard<std::mutex> lock(m_mutex);
    m_running = false;
    m_idle.notify_all();
}
