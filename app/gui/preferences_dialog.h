#pragma once
// Edit > Preferences: the few settings the window keeps in QSettings.
#include <QDialog>

class QCheckBox;
class QSpinBox;

struct Preferences {
    bool reopenLastProject = true;
    int maxRecentFiles = 10;
    bool showLogOnError = true;

    static Preferences load();
    void save() const;
};

class PreferencesDialog : public QDialog {
    Q_OBJECT
public:
    explicit PreferencesDialog(const Preferences& prefs, QWidget* parent = nullptr);
    Preferences preferences() const;

private:
    QCheckBox* m_reopen = nullptr;
    QSpinBox* m_recent = nullptr;
    QCheckBox* m_showLog = nullptr;
};
