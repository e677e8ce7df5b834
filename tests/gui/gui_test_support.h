#pragma once
// What every GUI test needs: the one QApplication of the test process (settings and recent files
// in a throwaway folder, never the user's; the X11 platform, so run under xvfb-run) and an event
// loop that runs until a condition holds.
#include <functional>

class QApplication;

namespace by::test {

QApplication* ensureApp();
// Processes events until done() is true (true) or timeoutMs passes (false).
bool waitUntil(const std::function<bool()>& done, int timeoutMs = 120000);

}  // namespace by::test
