import CEmberVulkan
import Foundation
import XCTest

/// One Vulkan context per test process, created with the validation layer on (set here, before
/// the first init). Without a device the tests skip, except in CI (env CI set), where they fail
/// so that a broken install cannot turn into silent skips.
enum VK {
    /// nil when the device is usable, else the reason.
    static let unavailable: String? = {
        setenv("EMBER_VULKAN_VALIDATION", "1", 1)
        var err = [CChar](repeating: 0, count: 512)
        if ember_vk_init(&err, err.count) == 0 { return nil }
        return text(err)
    }()
}

class VulkanTestCase: XCTestCase {
    override func setUpWithError() throws {
        if let reason = VK.unavailable {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("no Vulkan device in CI: \(reason)")
                throw XCTSkip("failed above")
            }
            throw XCTSkip(reason)
        }
        let info = String(cString: ember_vk_device_info())
        XCTAssertTrue(info.contains("validation on"), "the context was created without validation: \(info)")
        XCTAssertEqual(ember_vk_set_force_staging(0), 0)
    }

    override func tearDown() {
        if VK.unavailable == nil {
            XCTAssertEqual(ember_vk_synchronize(), 0, String(cString: ember_vk_last_error()))
            XCTAssertEqual(ember_vk_validation_message_count(), 0,
                           "validation: \(String(cString: ember_vk_last_validation_message()))")
        }
        super.tearDown()
    }

    /// Runs `body` with host-visible storages, then with device-local storages and staging.
    func onBothMemoryPaths(_ body: (String) throws -> Void) rethrows {
        for staging in [0, 1] {
            XCTAssertEqual(ember_vk_set_force_staging(Int32(staging)), 0)
            try body(staging == 1 ? "staging" : "host-visible")
        }
        XCTAssertEqual(ember_vk_set_force_staging(0), 0)
    }
}

/// A device buffer released when the Swift object goes.
final class DeviceBuffer {
    let raw: OpaquePointer
    let bytes: Int

    init(bytes: Int, zeroed: Bool = false) {
        var err = [CChar](repeating: 0, count: 512)
        guard let b = ember_vk_buffer_create(bytes, zeroed ? 1 : 0, &err, err.count) else {
            fatalError("ember_vk_buffer_create(\(bytes)): \(text(err))")
        }
        raw = b
        self.bytes = bytes
    }

    convenience init<T>(_ values: [T]) {
        self.init(bytes: values.count * MemoryLayout<T>.stride)
        write(values)
    }

    deinit { ember_vk_buffer_release(raw) }

    func write<T>(_ values: [T], at byteOffset: Int = 0) {
        let rc = values.withUnsafeBytes { ember_vk_write(raw, byteOffset, $0.baseAddress, $0.count) }
        precondition(rc == 0, String(cString: ember_vk_last_error()))
    }

    func read<T>(_ type: T.Type, count: Int, at byteOffset: Int = 0) -> [T] {
        var out = [T](unsafeUninitializedCapacity: count) { _, n in n = count }
        let rc = out.withUnsafeMutableBytes { ember_vk_read(raw, byteOffset, $0.baseAddress, $0.count) }
        precondition(rc == 0, String(cString: ember_vk_last_error()))
        return out
    }

    func floats(_ count: Int) -> [Float] { read(Float.self, count: count) }
}

/// Records `kernel` with `push` (its EmberVk*Push struct) over `groups` linear workgroups.
@discardableResult
func dispatch<P>(_ kernel: Int, _ buffers: [DeviceBuffer], _ push: P, groups: Int, offsets: [UInt64]? = nil,
                 file: StaticString = #filePath, line: UInt = #line) -> Int32 {
    var push = push
    let raws: [OpaquePointer?] = buffers.map { $0.raw }
    let rc = withUnsafeBytes(of: &push) { p in
        raws.withUnsafeBufferPointer { b in
            if let offsets {
                return offsets.withUnsafeBufferPointer { o in
                    ember_vk_dispatch_linear(Int32(kernel), b.baseAddress, o.baseAddress, Int32(b.count), p.baseAddress,
                                             UInt32(p.count), UInt64(groups))
                }
            }
            return ember_vk_dispatch_linear(Int32(kernel), b.baseAddress, nil, Int32(b.count), p.baseAddress,
                                            UInt32(p.count), UInt64(groups))
        }
    }
    XCTAssertEqual(rc, 0, "dispatch \(String(cString: ember_vk_kernel_name(Int32(kernel)))): \(String(cString: ember_vk_last_error()))",
                   file: file, line: line)
    return rc
}

func groups(_ n: Int, _ kernel: Int) -> Int { (n + Int(ember_vk_kernel_local_size(Int32(kernel))) - 1) / Int(ember_vk_kernel_local_size(Int32(kernel))) }

typealias Six<T> = (T, T, T, T, T, T)
func six<T>(_ a: [T], pad: T) -> Six<T> {
    let p = a + Array(repeating: pad, count: 6 - a.count)
    return (p[0], p[1], p[2], p[3], p[4], p[5])
}

/// Row-major contiguous strides of `shape`, with 0 where `shape` broadcasts against `out`.
func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int32] {
    var strides = [Int32](repeating: 0, count: out.count)
    var s = 1
    for d in stride(from: out.count - 1, through: 0, by: -1) {
        let k = d - (out.count - shape.count)
        guard k >= 0 else { continue }
        strides[d] = shape[k] == 1 ? 0 : Int32(s)
        s *= shape[k]
    }
    return strides
}

/// Index tuple of the i-th element of `shape` in row-major order.
func coordinates(_ i: Int, _ shape: [Int]) -> [Int] {
    var c = [Int](repeating: 0, count: shape.count)
    var r = i
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
        c[d] = r % shape[d]
        r /= shape[d]
    }
    return c
}

/// Asserts elementwise closeness (|a-e| <= atol + rtol|e|; NaNs must match NaNs), naming the case
/// and the worst element.
func assertClose(_ actual: [Float], _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
    var worst = -1
    var worstExcess: Float = 0
    for i in 0..<min(actual.count, expected.count) {
        let a = actual[i], e = expected[i]
        if a.isNaN || e.isNaN {
            if a.isNaN != e.isNaN { worst = i; worstExcess = .infinity; break }
            continue
        }
        if a == e { continue }
        let excess = abs(a - e) - (atol + rtol * abs(e))
        if excess > worstExcess || (excess.isNaN) { worst = i; worstExcess = excess.isNaN ? .infinity : excess }
    }
    if worst >= 0 {
        XCTFail("\(what): element \(worst) is \(actual[worst]), expected \(expected[worst])", file: file, line: line)
    }
}

/// The NUL-terminated text in a C error buffer.
func text(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
