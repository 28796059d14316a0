import Foundation
import XCTest

/// The skip policy of every Vulkan test, and the one-line note at the end of a run that skipped some:
/// "51 Vulkan tests skipped: <reason>" (printed once, when the test bundle finishes).
public enum VulkanSkips {
    nonisolated(unsafe) private static var count = 0
    nonisolated(unsafe) private static var firstReason = ""
    nonisolated(unsafe) private static var observer: SkipSummary?
    private static let lock = NSLock()

    /// Returns when `unavailableReason` is nil (the device is usable). Otherwise fails the test when
    /// the environment sets `CI` (CI installs lavapipe and expects every Vulkan test to run) and throws
    /// `XCTSkip` with the reason.
    public static func requireDevice(_ unavailableReason: String?) throws {
        guard let reason = unavailableReason else { return }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail("CI needs a Vulkan device (lavapipe from mesa-vulkan-drivers): \(reason)")
        }
        record(reason)
        throw XCTSkip("vulkan:0 is unavailable: \(reason)")
    }

    private static func record(_ reason: String) {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        if observer == nil {
            firstReason = reason
            let o = SkipSummary()
            observer = o
            XCTestObservationCenter.shared.addTestObserver(o)
        }
    }

    /// "N Vulkan tests skipped: reason", or nil when none was.
    public static var summary: String? {
        lock.lock()
        defer { lock.unlock() }
        return count == 0 ? nil : "\(count) Vulkan test\(count == 1 ? "" : "s") skipped: \(firstReason)"
    }
}

/// Prints ``VulkanSkips/summary`` once, after the last test of the bundle.
final class SkipSummary: NSObject, XCTestObservation {
    func testBundleDidFinish(_ testBundle: Bundle) {
        if let line = VulkanSkips.summary { print(line) }
    }
}
