#include "cpu/threadpool.h"

namespace qgpu {
namespace cpu {

int32_t hardware_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n ? int32_t(n) : 1;
}

ThreadPool::ThreadPool(int32_t threads) { start(threads); }

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start(int32_t threads) {
    stop_ = false;
    for (int32_t i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void ThreadPool::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
}

void ThreadPool::resize(int32_t threads) {
    if (threads == size()) return;
    stop();
    start(threads);
}

// Takes task indices one at a time until none is left (dynamic scheduling: uneven tasks
// balance themselves).
void ThreadPool::run_tasks() {
    for (;;) {
        int64_t i;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (next_ >= count_) return;
            i = next_++;
        }
        (*task_)(i);
    }
}

void ThreadPool::worker_loop() {
    uint64_t seen;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        seen = generation_;
    }
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            ++busy_;
        }
        run_tasks();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            --busy_;
        }
        done_.notify_all();
    }
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t)>& task) {
    if (count <= 0) return;
    if (workers_.empty() || count == 1) {
        for (int64_t i = 0; i < count; ++i) task(i);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        task_ = &task;
        count_ = count;
        next_ = 0;
        ++generation_;
    }
    wake_.notify_all();
    run_tasks();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return next_ >= count_ && busy_ == 0; });
    task_ = nullptr;
}

}  // namespace cpu
}  // namespace qgpu
