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
    // each worker starts from the generation current now, so it cannot miss a job published
    // before it first runs
    const uint64_t current = generation_.load();
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

// Takes task indices one at a time until none is left (dynamic scheduling: uneven tasks
// balance themselves). The caller holds a registration (busy_ or being the job's owner), so the
// job (task_, count_) cannot change under it; claiming is one atomic add, no lock.
void ThreadPool::run_tasks() {
    // A worker that registers after its job ended finds task_ cleared (every index was claimed
    // before the owner cleared it): nothing to do.
    const std::function<void(int64_t)>* task = task_;
    if (!task) return;
    const int64_t count = count_;
    for (;;) {
        const int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
        if (i >= count) return;
        (*task)(i);
    }
}

void ThreadPool::worker_loop(uint64_t seen) {
    for (;;) {
        // poll for a while (lock-free), then sleep until the next job
        const auto until = std::chrono::steady_clock::now() + kSpin;
        for (int spins = 0;; ++spins) {
            if (generation_.load(std::memory_order_relaxed) != seen || stop_.load(std::memory_order_relaxed)) break;
            if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) {
                std::unique_lock<std::mutex> lock(mutex_);
                ++sleeping_;
                wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
                --sleeping_;
                break;
            }
            QGPU_CPU_RELAX();
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stop_.load()) return;
            seen = generation_.load();
            busy_.fetch_add(1);
        }
        run_tasks();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            busy_.fetch_sub(1);
            if (next_.load() >= count_ && busy_.load() == 0) done_.notify_all();
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
    bool sleepers;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        task_ = &task;
        count_ = count;
        next_.store(0);
        generation_.fetch_add(1);
        sleepers = sleeping_ > 0;
    }
    if (sleepers) wake_.notify_all();
    run_tasks();
    // all tasks are handed out; wait for the workers still running one
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int spins = 0; busy_.load(std::memory_order_acquire) != 0; ++spins) {
        if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) break;
        QGPU_CPU_RELAX();
    }
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_.load() == 0; });
    task_ = nullptr;
}

}  // namespace cpu
}  // namespace qgpu
