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
    const uint32_t current = uint32_t(state_.load() >> 32);
    slots_ = std::vector<Slot>(size_t(threads < 1 ? 1 : threads));
    for (int32_t i = 1; i < threads; ++i) workers_.emplace_back([this, i, current] { worker_loop(i, current); });
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

namespace {
constexpr uint64_t kClosed = uint64_t(1) << 31;
constexpr uint64_t kInsideMask = kClosed - 1;
uint32_t generation_of(uint64_t state) { return uint32_t(state >> 32); }
}  // namespace

// Runs the tasks of the thread's own range one at a time, then whatever is left of the other
// ranges (claiming a task is one atomic add on its range's counter).
void ThreadPool::run_tasks(int32_t slot) {
    const std::function<void(int64_t)>& task = *task_;
    const int32_t n = int32_t(slots_.size());
    for (int32_t k = 0; k < n; ++k) {
        Slot& r = slots_[size_t((slot + k) % n)];
        for (;;) {
            const int64_t i = r.next.fetch_add(1, std::memory_order_relaxed);
            if (i >= r.end) break;
            task(i);
        }
    }
}

void ThreadPool::worker_loop(int32_t slot, uint32_t seen) {
    for (;;) {
        // poll for a while (lock-free), then sleep until the next job. sleeping_ and state_
        // are seq_cst on both sides: either the owner sees the sleeper and notifies, or the
        // sleeper's predicate sees the new generation.
        const auto until = std::chrono::steady_clock::now() + kSpin;
        for (int spins = 0;; ++spins) {
            if (generation_of(state_.load(std::memory_order_acquire)) != seen || stop_.load(std::memory_order_relaxed))
                break;
            if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) {
                std::unique_lock<std::mutex> lock(mutex_);
                sleeping_.fetch_add(1);
                wake_.wait(lock, [&] { return stop_.load() || generation_of(state_.load()) != seen; });
                sleeping_.fetch_sub(1);
                break;
            }
            QGPU_CPU_RELAX();
        }
        if (stop_.load()) return;
        // join the job unless its owner has closed it (then it is finished: skip it)
        uint64_t s = state_.load(std::memory_order_acquire);
        bool joined = false;
        while (!(s & kClosed)) {
            if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) {
                joined = true;
                break;
            }
        }
        seen = generation_of(s);
        if (!joined) continue;
        run_tasks(slot);
        if ((state_.fetch_sub(1) & kInsideMask) == 1 && owner_sleeping_.load()) {
            std::lock_guard<std::mutex> lock(mutex_);  // the owner is in wait() or sees 0 inside
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
    const int64_t n = int64_t(slots_.size());
    for (int64_t k = 0; k < n; ++k) {
        slots_[size_t(k)].next.store(count * k / n, std::memory_order_relaxed);
        slots_[size_t(k)].end = count * (k + 1) / n;
    }
    // open the job: the next generation, nobody inside (the last job is closed and empty)
    const uint32_t gen = generation_of(state_.load()) + 1;
    state_.store(uint64_t(gen) << 32);  // seq_cst: publishes the job and pairs with sleeping_
    if (sleeping_.load() > 0) {
        { std::lock_guard<std::mutex> lock(mutex_); }
        wake_.notify_all();
    }
    run_tasks(0);
    // every task is handed out: close the job once no worker is inside (one still running a
    // task must finish first; one that has not joined yet never will)
    const auto until = std::chrono::steady_clock::now() + kSpin;
    for (int spins = 0;; ++spins) {
        uint64_t s = state_.load(std::memory_order_acquire);
        if ((s & kInsideMask) == 0 && state_.compare_exchange_strong(s, s | kClosed, std::memory_order_acq_rel)) break;
        if ((spins & 63) == 63 && std::chrono::steady_clock::now() > until) {
            std::unique_lock<std::mutex> lock(mutex_);
            owner_sleeping_.store(true);
            done_.wait(lock, [&] { return (state_.load() & kInsideMask) == 0; });
            owner_sleeping_.store(false);
            continue;  // a late worker may have joined meanwhile: check again before closing
        }
        QGPU_CPU_RELAX();
    }
    task_ = nullptr;
}

}  // namespace cpu
}  // namespace qgpu
