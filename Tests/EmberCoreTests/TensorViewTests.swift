import Foundation
import XCTest
@testable import EmberCore

/// Views against `op_fixtures.json` section `views` (PyTorch 2.13.0+cpu on `arange(24).view(2, 3, 4)`):
/// values, shape, strides, storage offset, whether storage is shared with the base (copy only when
/// needed), `is_contiguous()`, errors, and in-place writes through views visible in the base.
final class TensorViewTests: XCTestCase {
    private let all = TensorIndex.all
    private let ellipsis = TensorIndex.ellipsis
    private let newAxis = TensorIndex.newAxis

    private var base: Tensor { OpFixtures.tensor(OpFixtures.case("views", "_base")["out"]!) }

    /// Each fixture case id and the Ember spelling of its Python expression (see the generator).
    private var cases: [(String, (Tensor) -> Tensor)] {
        [
            ("view_6_4", { $0.view(6, 4) }),
            ("view_m1", { $0.view(-1) }),
            ("reshape_4_m1", { $0.reshape(4, -1) }),
            ("transpose_reshape", { $0.transpose(0, 1).reshape(6, 4) }),
            ("transpose_0_2", { $0.transpose(0, 2) }),
            ("permute_2_0_1", { $0.permute(2, 0, 1) }),
            ("mT", { $0.mT }),
            ("T2d", { $0[0].T }),
            ("slice_neg", { $0[(-1)...] }),
            ("slice_last2_dim2", { $0[self.all, self.all, (-2)...] }),
            ("slice_step", { $0[self.all, self.all, Swift.stride(from: 0, to: 4, by: 2)] }),
            ("slice_step3", { $0[self.all, 1..<3, Swift.stride(from: 1, to: 4, by: 2)] }),
            ("slice_closed", { $0[0, 0...1] }),
            ("slice_upto_neg", { $0[self.all, ..<(-1)] }),
            ("ellipsis_0", { $0[self.ellipsis, 0] }),
            ("ellipsis_mid", { $0[0, self.ellipsis, 1] }),
            ("newaxis", { $0[self.newAxis] }),
            ("newaxis_mid", { $0[self.all, self.newAxis, 1] }),
            ("int_index", { $0[1, -1] }),
            ("select_1_m1", { $0.select(1, -1) }),
            ("narrow", { $0.narrow(2, start: 1, length: 2) }),
            ("narrow_neg", { $0.narrow(1, start: -2, length: 2) }),
            ("unsqueeze_m1", { $0.unsqueeze(-1) }),
            ("unsqueeze_1", { $0.unsqueeze(1) }),
            ("squeeze_all", { $0[self.all, ..<1, self.newAxis, ..<1].squeeze() }),
            ("squeeze_dim", { $0[self.all, ..<1].squeeze(1) }),
            ("squeeze_noop", { $0.squeeze(0) }),
            ("flatten", { $0.flatten() }),
            ("flatten_1_2", { $0.flatten(1, 2) }),
            ("flatten_0_1", { $0.flatten(0, 1) }),
            ("flatten_transposed", { $0.transpose(1, 2).flatten(1) }),
            ("expand", { $0[self.all, ..<1, self.all].expand(2, 5, 4) }),
            ("expand_m1", { $0[0, self.all, ..<1].expand(-1, 3) }),
            ("expand_new", { $0[0, 0].expand(2, 4) }),
            ("contiguous_of_transpose", { $0.transpose(1, 2).contiguous() }),
            ("contiguous_noop", { $0.contiguous() }),
        ]
    }

    private func checkView(_ r: Tensor, _ exp: [String: Any], base: Tensor, _ label: String) {
        assertTensor(r, exp, label)
        XCTAssertEqual(r.strides, exp["strides"] as! [Int], "\(label): strides")
        XCTAssertEqual(r.storageOffset, exp["offset"] as! Int, "\(label): storage offset")
        XCTAssertEqual(r.storage === base.storage, exp["shares"] as! Bool, "\(label): shares storage with the base")
    }

    func testViewsStridesOffsetsAndSharing() {
        var seen = Set<String>()
        for (id, f) in cases {
            seen.insert(id)
            let x = base
            let c = OpFixtures.case("views", id)
            guard let r = captured("views/\(id)", { f(x) }) else { continue }
            checkView(r, c["out"] as! [String: Any], base: x, "views/\(id)")
            XCTAssertEqual(r.isContiguous, c["contiguous"] as! Bool, "views/\(id): isContiguous")
        }
        // split/chunk/unbind return lists of views.
        let lists: [(String, (Tensor) -> [Tensor])] = [
            ("split_2_dim2", { $0.split(3, dim: 2) }),
            ("split_sizes", { $0.split(sizes: [1, 2], dim: 1) }),
            ("chunk_3_dim2", { $0.chunk(3, dim: 2) }),
            ("chunk_2_dim1", { $0.chunk(2, dim: 1) }),
            ("unbind_1", { $0.unbind(1) }),
        ]
        for (id, f) in lists {
            seen.insert(id)
            let x = base
            let exp = OpFixtures.case("views", id)["out"] as! [Any]
            guard let parts = captured("views/\(id)", { f(x) }) else { continue }
            XCTAssertEqual(parts.count, exp.count, "views/\(id): number of pieces")
            for (i, (p, e)) in zip(parts, exp).enumerated() { checkView(p, e as! [String: Any], base: x, "views/\(id)[\(i)]") }
        }
        let errors = ["transpose_view_err", "view_bad_err", "select_err", "dim_err", "expand_err", "is_contiguous", "inplace_through_views"]
        XCTAssertEqual(Set(OpFixtures.ids("views")), seen.union(errors), "every views fixture case is exercised")
    }

    func testViewErrors() {
        let x = base
        assertError("views", "transpose_view_err") { _ = x.transpose(0, 1).view(6, 4) }
        assertError("views", "view_bad_err") { _ = x.view(5, 5) }
        assertError("views", "select_err") { _ = x.select(1, 3) }
        assertError("views", "dim_err") { _ = x.transpose(0, 3) }
        assertError("views", "expand_err") { _ = x.expand(2, 5, 4) }
    }

    func testIsContiguous() {
        let x = base
        let c = OpFixtures.case("views", "is_contiguous")
        XCTAssertEqual(x.isContiguous, c["plain"] as! Bool, "plain")
        XCTAssertEqual(x.transpose(0, 1).isContiguous, c["transposed"] as! Bool, "transposed")
        XCTAssertEqual(x[all, all, Swift.stride(from: 0, to: 4, by: 2)].isContiguous, c["sliced_last"] as! Bool, "x[:, :, ::2]")
        XCTAssertEqual(x[1...].isContiguous, c["sliced_first"] as! Bool, "x[1:]")
        XCTAssertEqual(x[all, ..<1].expand(2, 3, 4).isContiguous, c["expanded"] as! Bool, "expanded")
        XCTAssertEqual(x[..<1].transpose(0, 1).isContiguous, c["size1_transpose"] as! Bool, "size-1 dim transposed")
    }

    /// In-place ops through views (fill_, add_, subscript assignment) are visible in the base.
    func testInPlaceThroughViewsVisibleInBase() {
        let y = Tensor.zeros([3, 4])
        captured("inplace") {
            y[1..., Swift.stride(from: 0, to: 4, by: 2)].fill_(5.0)
            y.t()[0].add_(1.0)
            y[all, -1] = Tensor([7.0, 8.0, 9.0])
            y.view(-1)[5] = -2.0
        }
        assertTensor(y, OpFixtures.case("views", "inplace_through_views")["out"]!, "views/inplace_through_views")
    }
}
