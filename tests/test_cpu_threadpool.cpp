// The CPU backend's persistent thread pool (src/cpu/threadpool.*): every task index runs exactly
// once per job, jobs back to back (workers spinning, sleeping, or late to a job) never see a
// neighbour's tasks, the pool resizes between jobs, and concurrent callers take turns.
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cpu/threadpool.h"

using qgpu::cpu::ThreadPool;

namespace {

// Runs one job of `count` tasks and requires each index to have run exactly once.
void check_job(ThreadPool& pool, int64_t count) {
    std::vector<std::atomic<int>> hits(size_t(count > 0 ? count : 1));
    for (auto& h : hits) h.store(0);
    std::atomic<int> out_of_range{0};  // (Catch assertions are not thread-safe: count, check after)
    pool.parallel_for(count, [&](int64_t i) {
        if (i < 0 || i >= count) out_of_range.fetch_add(1);
        else hits[size_t(i)].fetch_add(1);
    });
    REQUIRE(out_of_range.load() == 0);
    for (int64_t i = 0; i < count; ++i) {
        INFO("job of " << count << " tasks on " << pool.size() << " threads, index " << i);
        REQUIRE(hits[size_t(i)].load() == 1);
    }
}

}  // namespace

TEST_CASE("cpu thread pool runs every task exactly once", "[cpu-pool]") {
    for (int threads : {1, 2, 3}) {
        ThreadPool pool(threads);
        REQUIRE(pool.size() == threads);
        for (int64_t count : {0, 1, 2, 3, 17, 1000}) check_job(pool, count);
        // many short jobs back to back: the claim counter of one job must never leak into the next
        std::atomic<int64_t> sum{0};
        for (int job = 0; job < 2000; ++job) {
            const int64_t n = 1 + job % 5;
            std::atomic<int64_t> local{0};
            pool.parallel_for(n, [&](int64_t i) { local.fetch_add(i + 1); });
            REQUIRE(local.load() == n * (n + 1) / 2);
            sum.fetch_add(local.load());
        }
        CHECK(sum.load() > 0);
    }
}

TEST_CASE("cpu thread pool: a thread that finishes its range takes over the rest of the others'", "[cpu-pool]") {
    // each thread starts on its own contiguous range of task indices; make the caller's range
    // slow (its first tasks sleep) so that the workers run out of their own work and steal
    for (int threads : {2, 3}) {
        ThreadPool pool(threads);
        for (int64_t count : {4, 9, 40}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(count));
            for (auto& h : hits) h.store(0);
            pool.parallel_for(count, [&](int64_t i) {
                if (i < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
                hits[size_t(i)].fetch_add(1);
            });
            for (int64_t i = 0; i < count; ++i) {
                INFO(count << " tasks on " << threads << " threads, index " << i);
                REQUIRE(hits[size_t(i)].load() == 1);
            }
        }
    }
}

TEST_CASE("cpu thread pool resizes between jobs and serializes concurrent callers", "[cpu-pool]") {
    ThreadPool pool(2);
    check_job(pool, 64);
    pool.resize(3);
    REQUIRE(pool.size() == 3);
    check_job(pool, 64);
    pool.resize(1);
    REQUIRE(pool.size() == 1);
    check_job(pool, 64);
    pool.resize(2);
    // two callers at once: each job still sees only its own tasks
    std::atomic<int> bad{0};
    auto caller = [&](int64_t base) {
        for (int job = 0; job < 300; ++job) {
            std::atomic<int64_t> total{0};
            pool.parallel_for(7, [&](int64_t i) { total.fetch_add(base + i); });
            if (total.load() != 7 * base + 21) bad.fetch_add(1);
        }
    };
    std::thread a(caller, 1000), b(caller, 5000);
    a.join();
    b.join();
    CHECK(bad.load() == 0);
}
