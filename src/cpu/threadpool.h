// A small persistent thread pool: workers are created once and sleep between jobs; the calling
// thread takes part in every job, so a pool of 1 runs everything inline.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qgpu {
namespace cpu {

class ThreadPool {
public:
    explicit ThreadPool(int32_t threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // Changes the number of threads (between jobs only).
    void resize(int32_t threads);
    int32_t size() const { return int32_t(workers_.size()) + 1; }
    // Runs task(i) for i in [0, count), spread over the threads; returns when all are done.
    void parallel_for(int64_t count, const std::function<void(int64_t)>& task);

private:
    void start(int32_t threads);
    void stop();
    void worker_loop();
    void run_tasks();

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    const std::function<void(int64_t)>* task_ = nullptr;
    int64_t count_ = 0, next_ = 0;
    int32_t busy_ = 0;
    uint64_t generation_ = 0;
    bool stop_ = false;
};

// Number of hardware threads (>= 1).
int32_t hardware_threads();

}  // namespace cpu
}  // namespace qgpu
