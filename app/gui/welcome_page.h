#pragma once
// What the central area shows while no model is open: the ways in (open a model or project,
// create one, the demo) and the recent files and projects, so the window is never an empty grey.
#include <QStringList>
#include <QWidget>

class QListWidget;
class QListWidgetItem;

class WelcomePage : public QWidget {
    Q_OBJECT
public:
    explicit WelcomePage(QWidget* parent = nullptr);
    void setRecent(const QStringList& files, const QStringList& projects);

signals:
    void openModelRequested();
    void openProjectRequested();
    void newProjectRequested();
    void openDemoRequested();
    void recentFileRequested(const QString& path);
    void recentProjectRequested(const QString& path);

private:
    QListWidget* m_files = nullptr;
    QListWidget* m_projects = nullptr;
};
