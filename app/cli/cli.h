#pragma once
// Command-line front end. run() parses argv and dispatches to the verbs; each verb prints one
// clear sentence on error and returns a non-zero exit status (1 bad input, 2 bad usage).
namespace by::cli {
int run(int argc, char** argv);
}
