#include "cpu/threadpool.h"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define QGPU_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define QGPU_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define QGPU_CPU_RELAX() ((void)0)
#endif

namespace qgpu {
namespace cpu {
namespace {
// How long an idle thread polls before it sleeps (and how long the caller polls for the end).
constexpr std::chrono::microseconds kSpin(200);
}  // namespace

int32_t hardware_threads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n ? int32_t(n) : 1;
}

ThreadPool::ThreadPool(int32_t threads) { start(threads); }

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::start(int32_t threads) {
    stop_.store(false);
    // A worker must start from the generation current *now*: reading it inside the new thread
    // races with a parallel_for issued right after start() and would skip that job (deadlock).
    const uint64_t current = generation_.load(std::memory_order_acquire);
    for (int32_t i = 1; i < threads; ++i) workers_.emplace_back([this, current] { worker_loop(current); });
}

void ThreadPool::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_.store(true);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
}

void ThreadPool::resize(int32_t threads) {
    std::lock_guard<std::mutex> job(job_mutex_);
    if (threads == size()) return;
    stop();
    start(threads);
}

// Takes task indices until none is left (dynamic scheduling: uneven tasks balance themselves).
void ThreadPool::run_tasks() {
    for (;;) {
        const int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
        if (i >= count_) return;
        (*task_)(i);
    }
}

void ThreadPool::worker_loop(uint64_t seen) {
    for (;;) {
        // poll for a while, then sleep until the next job
        const auto until = std::chrono::steady_clock::now() + kSpin;
        uint64_t gen;
        for (int spins = 0;; ++spins) {
            gen = generation_.load(std::memory_order_acquire);
            if (gen != seen || stop_.load(std::memory_order_relaxed)) break;
            if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] {
                    return stop_.load() || generation_.load(std::memory_order_acquire) != seen;
                });
                gen = generation_.load(std::memory_order_acquire);
                break;
            }
            QGPU_CPU_RELAX();
        }
        if (stop_.load()) return;
        seen = gen;
        run_tasks();
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(mutex_);
            done_.notify_all();
        }
    }
}

void ThreadPool::parallel_for(int64_t count, const std::function<void(int64_t)>& task) {
    if (count <= 0) return;
    std::lock_guard<std::mutex> job(job_mutex_);
    if (workers_.empty() || count == 1) {
        for (int64_t i = 0; i < count; ++i) task(i);
        return;
    }
    task_ = &task;
    count_ = count;
    next_.store(0, std::memory_order_relaxed);
    pending_.store(int32_t(workers_.size()), std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lock(mutex_);  // no worker can miss the wake-up
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks();
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
        if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) {
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [&] { return pending_.load(std::memory_order_acquire) == 0; });
            break;
        }
        QGPU_CPU_RELAX();
    }
    task_ = nullptr;
}

}  // namespace cpu
}  // namespace qgpu
