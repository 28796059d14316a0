import Foundation
import XCTest
@testable import EmberCore

/// The life cycle shared by this target's vulkan:0 tests: the Khronos validation layer on (read at
/// the runtime's first start; .ci/run sets it for the whole suite), a skip with the reason when there
/// is no Vulkan device — a failure when `CI` is set, so a broken install cannot turn into silent
/// skips (issue #7) —, op errors failing the test instead of trapping the run, and no validation
/// message allowed.
class VulkanTestCase: XCTestCase {
    let vk: Device = .vulkan(0)

    override func setUpWithError() throws {
        setenv("EMBER_VULKAN_VALIDATION", "1", 0)
        if let reason = vk.unavailableReason {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("CI needs a Vulkan device (lavapipe from mesa-vulkan-drivers): \(reason)")
            }
            throw XCTSkip("vulkan:0 is unavailable: \(reason)")
        }
        manualSeed(123)
    }

    /// An op error inside a test fails that test instead of trapping the whole run.
    override func invokeTest() {
        do { try withErrorCapture { super.invokeTest() } } catch { XCTFail("unexpected error: \(error)") }
    }

    override func tearDown() {
        if vk.isAvailable {
            VulkanRuntime.synchronize()
            XCTAssertEqual(VulkanRuntime.validationMessageCount, 0,
                           "validation layer: \(VulkanRuntime.lastValidationMessage ?? "")")
        }
    }
}
