// A small persistent thread pool: workers are created once; between jobs they spin briefly
// (so back-to-back layers start without a futex wake-up, which costs tens of microseconds) and
// then sleep. The calling thread takes part in every job, so a pool of 1 runs everything inline.
// Handing a job over needs no lock: a worker joins a job by one compare-and-swap on state_
// (generation, open flag, workers inside), and the owner closes the job once no worker is inside,
// so a worker that wakes late never delays the owner (it finds the job closed) and never sees a
// later job's task under an earlier generation.
#pragma once
#include <atomic>
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
    // Jobs of one pool are serialized (concurrent callers take turns).
    void parallel_for(int64_t count, const std::function<void(int64_t)>& task);
    // The same, but in order on the calling thread when `inline_only` (work too small to be
    // worth handing to another core: a hand-off costs microseconds).
    template <class F>
    void parallel_for(int64_t count, bool inline_only, const F& task) {
        if (inline_only) {
            for (int64_t i = 0; i < count; ++i) task(i);
            return;
        }
        parallel_for(count, std::function<void(int64_t)>(task));
    }

private:
    void start(int32_t threads);
    void stop();
    void worker_loop(int32_t slot, uint32_t seen);
    void run_tasks(int32_t slot);

    std::vector<std::thread> workers_;
    std::mutex job_mutex_;  // one job at a time
    std::mutex mutex_;      // sleeping and waking only
    std::condition_variable wake_, done_;
    // the job: written by its owner before it is opened, read-only while it is open
    const std::function<void(int64_t)>* task_ = nullptr;
    int64_t count_ = 0;
    // Tasks are split into one contiguous range per thread (slot 0: the caller, slot i: worker
    // i), so a layer run again, or the next layer over the same pixels, finds its data in the
    // cache of the core that wrote it: with tasks handed out first come first served, the two
    // cores of the VM swapped halves between runs and two-thread runs were up to 2x slower
    // per task. A thread that finishes its range takes the rest of the others' (a late worker
    // costs nothing but its share).
    struct alignas(64) Slot {
        std::atomic<int64_t> next{0};
        int64_t end = 0;
    };
    std::vector<Slot> slots_;
    // generation << 32 | kClosed | workers inside the job (ThreadPool::parallel_for)
    std::atomic<uint64_t> state_{uint64_t(1) << 31};
    std::atomic<bool> stop_{false};
    std::atomic<int32_t> sleeping_{0};  // workers asleep on wake_
    std::atomic<bool> owner_sleeping_{false};
};

// Number of hardware threads (>= 1).
int32_t hardware_threads();

}  // namespace cpu
}  // namespace qgpu
