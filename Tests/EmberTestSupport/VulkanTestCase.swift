import CEmberVulkan
import EmberCore
import Foundation
import XCTest

/// The life cycle shared by the vulkan:0 tests of every target: the Khronos validation layer on (read
/// at the runtime's first start; .ci/run sets it for the whole suite), a skip with the reason when there
/// is no Vulkan device — a failure when `CI` is set, so a broken install cannot turn into silent skips
/// (issue #7) —, op errors failing the test instead of trapping the run, and no validation message
/// allowed.
open class VulkanTestCase: XCTestCase {
    public let vk: Device = .vulkan(0)

    /// The seed given to `manualSeed` before each test; nil leaves the generator as it is.
    open var seedBeforeEachTest: UInt64? { 123 }

    override open func setUpWithError() throws {
        setenv("EMBER_VULKAN_VALIDATION", "1", 0)
        try VulkanSkips.requireDevice(vk.unavailableReason)
        if let seed = seedBeforeEachTest { manualSeed(seed) }
    }

    /// An op error inside a test fails that test instead of trapping the whole run.
    override open func invokeTest() {
        do { try withErrorCapture { super.invokeTest() } } catch { XCTFail("unexpected error: \(error)") }
    }

    override open func tearDown() {
        if vk.isAvailable {
            if ember_vk_synchronize() != 0 { XCTFail("vulkan: \(String(cString: ember_vk_last_error()))") }
            let last = ember_vk_last_validation_message().map { String(cString: $0) } ?? ""
            XCTAssertEqual(ember_vk_validation_message_count(), 0, "validation layer: \(last)")
        }
    }
}
