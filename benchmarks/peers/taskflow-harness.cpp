// The Taskflow side of PeerBenchmarks: one tf::Taskflow of empty tasks built from a graph file (the same graph the
// engine runs), one tf::Executor with the given worker count. Commands on stdin, answers on stdout, one line each:
//   run K   runs the taskflow K times, answers "ok NANOSECONDS" (the K runs together, measured here)
//   quit    ends.
// Graph file: the task count on the first line, then one line per task: its predecessor count and the predecessors.
// A third argument names a file of one duration in seconds per task: the task then sleeps that long (latency-bound).
// Build: g++ -O2 -std=c++20 -pthread -I ../shared/peers taskflow-harness.cpp -o taskflow-harness
#include <taskflow/taskflow.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: taskflow-harness GRAPH WORKERS [DURATIONS]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  size_t count = 0;
  in >> count;
  tf::Taskflow taskflow;
  std::vector<tf::Task> tasks(count);
  std::vector<double> seconds(count, 0.0);
  if (argc == 4) {
    std::ifstream durations(argv[3]);
    for (size_t i = 0; i < count; i++) {
      durations >> seconds[i];
    }
  }
  for (size_t i = 0; i < count; i++) {
    if (seconds[i] > 0) {
      auto d = std::chrono::duration<double>(seconds[i]);
      tasks[i] = taskflow.emplace([d]() { std::this_thread::sleep_for(d); });
    } else {
      tasks[i] = taskflow.emplace([]() {});
    }
  }
  for (size_t i = 0; i < count; i++) {
    size_t predecessors = 0;
    in >> predecessors;
    for (size_t k = 0; k < predecessors; k++) {
      size_t p = 0;
      in >> p;
      tasks[p].precede(tasks[i]);
    }
  }
  tf::Executor executor(static_cast<size_t>(std::stoul(argv[2])));
  std::cout << "ready " << count << std::endl;
  std::string command;
  while (std::cin >> command) {
    if (command == "quit") {
      break;
    }
    if (command == "run") {
      int times = 1;
      std::cin >> times;
      auto start = std::chrono::steady_clock::now();
      for (int t = 0; t < times; t++) {
        executor.run(taskflow).wait();
      }
      auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
      std::cout << "ok " << elapsed << std::endl;
    }
  }
  return 0;
}
