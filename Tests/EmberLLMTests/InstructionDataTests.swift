import EmberLLM
import Foundation
import XCTest

/// Case C55 (ch. 7 §7.2, `ch07.ipynb`): the bundled instruction data, `formatInput` and the split.
final class InstructionDataTests: XCTestCase {
    func testC55DatasetAndPromptFormatting() throws {
        let data = try InstructionData.bundled()
        XCTAssertEqual(data.count, 1100)
        XCTAssertEqual(data[50], InstructionEntry(
            instruction: "Identify the correct spelling of the following word.", input: "Ocassion",
            output: "The correct spelling is 'Occasion.'"))
        XCTAssertEqual(data[999].input, "")
        XCTAssertEqual(formatInput(data[50]) + alpacaResponseHeader + data[50].output, """
            Below is an instruction that describes a task. Write a response that appropriately completes the request.

            ### Instruction:
            Identify the correct spelling of the following word.

            ### Input:
            Ocassion

            ### Response:
            The correct spelling is 'Occasion.'
            """)
        XCTAssertFalse(formatInput(data[999]).contains("### Input:"))
        let (train, validation, test) = InstructionData.split(data)
        XCTAssertEqual([train.count, validation.count, test.count], [935, 55, 110])
        XCTAssertEqual(validation[0].instruction, "Convert the active sentence to passive: 'The chef cooks the meal every day.'")
        XCTAssertEqual(validation[0].input, "")
    }

    func testBundledPreferencesAndSpamCollection() throws {
        let preferences = try InstructionData.bundledPreferences()
        XCTAssertEqual(preferences.count, 1100)
        XCTAssertEqual(formatInput(preferences[0]), formatInput(preferences[0].instructionEntry))
        let tsv = try String(contentsOf: BundledResource.smsSpamCollection(), encoding: .utf8)
        XCTAssertEqual(tsv.split(separator: "\n", omittingEmptySubsequences: false).count, 5575)
    }

    func testMalformedFileNamesTheField() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).json")
        try Data(#"[{"instruction": "x", "output": 3}]"#.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try InstructionData.load(InstructionEntry.self, from: url)) { error in
            XCTAssertTrue("\(error)".contains("input") || "\(error)".contains("output"), "\(error)")
        }
    }
}
