#include "tests/gui/gui_test_support.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QThread>
#include <cstdlib>

#include "tests/test_support.h"

namespace by::test {

QApplication* ensureApp() {
    static QApplication* app = [] {
        if (auto* existing = qobject_cast<QApplication*>(QCoreApplication::instance())) return existing;
        const std::string config = tempDir();
        setenv("XDG_CONFIG_HOME", config.c_str(), 1);
        setenv("QT_QPA_PLATFORM", "xcb", 1);
        static int argc = 1;
        static char name[] = "gui_tests";
        static char* argv[] = {name, nullptr};
        auto* a = new QApplication(argc, argv);  // lives until exit, like a real application's
        QApplication::setOrganizationName(QStringLiteral("BrickyardTests"));
        QApplication::setApplicationName(QStringLiteral("gui_tests"));
        return a;
    }();
    return app;
}

bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
    QElapsedTimer clock;
    clock.start();
    while (!done()) {
        if (clock.elapsed() > timeoutMs) return false;
        QApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(2);
    }
    return true;
}

}  // namespace by::test
