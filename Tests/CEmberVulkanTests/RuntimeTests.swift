import CEmberVulkan
import Foundation
import XCTest

/// The runtime without kernel numerics: memory paths, ordering, batching, deferred release, errors.
final class RuntimeTests: VulkanTestCase {
    func testDeviceIsDescribed() {
        XCTAssertGreaterThanOrEqual(ember_vk_device_count(), 1)
        XCTAssertFalse(String(cString: ember_vk_device_name()).isEmpty)
        XCTAssertGreaterThan(ember_vk_max_binding_bytes(), 0)
        XCTAssertGreaterThan(ember_vk_binding_offset_alignment(), 0)
        XCTAssertEqual(ember_vk_init(nil, 0), 0, "init is idempotent")
    }

    func testUploadDownloadRoundTrip() {
        onBothMemoryPaths { path in
            XCTAssertEqual(ember_vk_uses_staging(), path == "staging" ? 1 : 0)
            let values = (0..<100).map { Float($0) * 0.5 - 7 }
            let b = DeviceBuffer(values)
            XCTAssertEqual(b.floats(100), values, path)
            b.write([Float(42), 43], at: 8)
            XCTAssertEqual(b.read(Float.self, count: 3, at: 4), [values[1], 42, 43], "\(path): partial write/read")
            let z = DeviceBuffer(bytes: 64, zeroed: true)
            XCTAssertEqual(z.read(UInt32.self, count: 16), [UInt32](repeating: 0, count: 16), "\(path): zeroed")
            let empty = DeviceBuffer(bytes: 0, zeroed: true)
            XCTAssertEqual(ember_vk_buffer_size(empty.raw), 0)
            XCTAssertEqual(ember_vk_read(empty.raw, 0, nil, 0), 0, "\(path): empty read")
        }
    }

    /// A write after recorded work that reads the buffer must not change what that work sees.
    func testWriteIsOrderedAfterRecordedWork() {
        onBothMemoryPaths { path in
            let n = 300
            let first = (0..<n).map { Float($0) }
            let a = DeviceBuffer(first), b = DeviceBuffer(bytes: n * 4), c = DeviceBuffer(bytes: n * 4)
            let push = EmberVkUnaryF32Push(in_offset: 0, out_offset: 0, n: UInt32(n), op: EMBER_VK_UNARY_NEG)
            dispatch(EMBER_VK_KERNEL_UNARY_F32, [a, b], push, groups: 2)
            a.write((0..<n).map { Float($0) + 1000 })
            dispatch(EMBER_VK_KERNEL_UNARY_F32, [a, c], push, groups: 2)
            XCTAssertEqual(b.floats(n), first.map { -$0 }, "\(path): work recorded before the write")
            XCTAssertEqual(c.floats(n), (0..<n).map { -(Float($0) + 1000) }, "\(path): work recorded after it")
        }
    }

    /// Dependent dispatches are batched: one submission (fence) per sync point, more only when a
    /// batch exceeds 256 dispatches.
    func testBatchedSubmission() {
        let n = 64
        let a = DeviceBuffer([Float](repeating: 1, count: n))
        var push = EmberVkBinaryF32Push()
        push.ndim = 1; push.n = UInt32(n); push.op = EMBER_VK_BINARY_ADD; push.b_is_scalar = 1; push.b_scalar = 1
        push.shape = six([UInt32(n)], pad: 1); push.a_strides = six([1], pad: 0)
        XCTAssertEqual(ember_vk_synchronize(), 0)
        let before = ember_vk_submission_count()
        for _ in 0..<10 { dispatch(EMBER_VK_KERNEL_BINARY_F32, [a, a, a], push, groups: 1) }
        XCTAssertEqual(ember_vk_submission_count(), before, "nothing submitted before a sync point")
        XCTAssertEqual(a.floats(n), [Float](repeating: 11, count: n), "10 dependent in-place adds")
        XCTAssertEqual(ember_vk_submission_count(), before + 1, "one fence for the batch")
        for _ in 0..<600 { dispatch(EMBER_VK_KERNEL_BINARY_F32, [a, a, a], push, groups: 1) }
        XCTAssertEqual(ember_vk_submission_count(), before + 3, "large batches are submitted every 256 dispatches")
        XCTAssertEqual(a.floats(n), [Float](repeating: 611, count: n))
        XCTAssertEqual(ember_vk_submission_count(), before + 4)
    }

    func testReleaseWhileInUseIsDeferred() {
        onBothMemoryPaths { path in
            let out = DeviceBuffer(bytes: 256 * 4)
            do {
                let src = DeviceBuffer((0..<256).map { Float($0) })
                dispatch(EMBER_VK_KERNEL_UNARY_F32, [src, out],
                         EmberVkUnaryF32Push(in_offset: 0, out_offset: 0, n: 256, op: EMBER_VK_UNARY_SQUARE), groups: 1)
            } // src released here, before the dispatch was submitted
            XCTAssertEqual(out.floats(256), (0..<256).map { Float($0 * $0) }, path)
        }
    }

    /// Several threads record and read at once: the runtime serialises them behind its lock.
    func testConcurrentCallers() {
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            let n = 200 + t
            let x = (0..<n).map { Float($0 + t) }
            let a = DeviceBuffer(x), b = DeviceBuffer(bytes: n * 4)
            for _ in 0..<20 {
                var push = EmberVkUnaryF32Push(in_offset: 0, out_offset: 0, n: UInt32(n), op: EMBER_VK_UNARY_NEG)
                var raws: [OpaquePointer?] = [a.raw, b.raw]
                let rc = ember_vk_dispatch_linear(Int32(EMBER_VK_KERNEL_UNARY_F32), &raws, nil, 2, &push, 16, 1)
                if rc != 0 || b.floats(n) != x.map({ -$0 }) { failures.increment() }
            }
        }
        XCTAssertEqual(failures.value, 0, "wrong results or errors under concurrent use")
    }

    func testCopyAndFill() {
        onBothMemoryPaths { path in
            let a = DeviceBuffer((0..<64).map { UInt32($0) }), b = DeviceBuffer(bytes: 256, zeroed: true)
            XCTAssertEqual(ember_vk_copy(a.raw, 16, b.raw, 32, 64), 0)
            XCTAssertEqual(ember_vk_fill_u32(b.raw, 0, 16, 0xdeadbeef), 0)
            let got = b.read(UInt32.self, count: 64)
            XCTAssertEqual(Array(got[0..<4]), [UInt32](repeating: 0xdeadbeef, count: 4), path)
            XCTAssertEqual(Array(got[8..<24]), (4..<20).map { UInt32($0) }, path)
            XCTAssertEqual(got[4], 0, path)
            XCTAssertEqual(ember_vk_copy(a.raw, 0, a.raw, 8, 16), -1, "overlapping copy is refused")
            XCTAssertEqual(ember_vk_fill_u32(b.raw, 2, 8, 0), -1, "misaligned fill is refused")
        }
    }

    func testBadCallsReportErrors() {
        let a = DeviceBuffer(bytes: 64), b = DeviceBuffer(bytes: 64)
        let push = EmberVkUnaryF32Push(in_offset: 0, out_offset: 0, n: 16, op: 0)
        func expectError(_ rc: Int32, _ fragment: String, _ what: String) {
            XCTAssertEqual(rc, -1, what)
            XCTAssertTrue(String(cString: ember_vk_last_error()).contains(fragment),
                          "\(what): '\(String(cString: ember_vk_last_error()))' should mention '\(fragment)'")
        }
        var p = push
        let raws: [OpaquePointer?] = [a.raw, b.raw]
        expectError(ember_vk_dispatch(999, raws, nil, 2, &p, 16, 1, 1, 1), "unknown kernel", "kernel number")
        expectError(ember_vk_dispatch(Int32(EMBER_VK_KERNEL_UNARY_F32), raws, nil, 1, &p, 16, 1, 1, 1), "takes 2 buffers", "buffer count")
        expectError(ember_vk_dispatch(Int32(EMBER_VK_KERNEL_UNARY_F32), raws, nil, 2, &p, 12, 1, 1, 1), "push constants", "push size")
        expectError(ember_vk_dispatch(Int32(EMBER_VK_KERNEL_UNARY_F32), [a.raw, nil], nil, 2, &p, 16, 1, 1, 1), "NULL", "NULL buffer")
        expectError(ember_vk_dispatch(Int32(EMBER_VK_KERNEL_UNARY_F32), raws, [4, 0], 2, &p, 16, 1, 1, 1), "misaligned", "offset")
        expectError(ember_vk_dispatch(Int32(EMBER_VK_KERNEL_UNARY_F32), raws, nil, 2, &p, 16, 1 << 30, 1, 1), "workgroups", "grid")
        expectError(ember_vk_write(a.raw, 60, [Float(1), 2], 8), "outside", "write past the end")
        expectError(ember_vk_read(a.raw, 65, nil, 0), "outside", "read past the end")
        expectError(ember_vk_dispatch(Int32(EMBER_VK_KERNEL_UNARY_F32), raws, nil, 2, nil, 16, 1, 1, 1), "NULL", "NULL push")
    }

    /// A binding larger than maxStorageBufferRange (128 MiB on lavapipe) is an error; a window of
    /// the same buffer bound with ember_vk_dispatch_ranges works.
    func testBindingLargerThanTheDeviceRange() throws {
        let limit = Int(ember_vk_max_binding_bytes())
        guard limit <= 256 << 20 else { throw XCTSkip("maxStorageBufferRange \(limit) too large to test cheaply") }
        let big = DeviceBuffer(bytes: limit + 4096)
        var push = EmberVkFillPush(offset: 0, n: 4, dtype: EMBER_VK_DTYPE_F32, value: 7, int_lo: 0, int_hi: 0)
        var raws: [OpaquePointer?] = [big.raw]
        XCTAssertEqual(ember_vk_dispatch(Int32(EMBER_VK_KERNEL_FILL), &raws, nil, 1, &push, 24, 1, 1, 1), -1)
        XCTAssertTrue(String(cString: ember_vk_last_error()).contains("maxStorageBufferRange"), String(cString: ember_vk_last_error()))
        let offsets: [UInt64] = [UInt64(limit)], ranges: [UInt64] = [4096]
        XCTAssertEqual(ember_vk_dispatch_ranges(Int32(EMBER_VK_KERNEL_FILL), &raws, offsets, ranges, 1, &push, 24, 1, 1, 1), 0,
                       String(cString: ember_vk_last_error()))
        XCTAssertEqual(big.read(Float.self, count: 4, at: limit), [7, 7, 7, 7])
    }
}

/// A thread-safe count (Synchronization.Mutex needs macOS 15; the package supports macOS 14).
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
