/// The bytes one load may still allocate (see ``PthLoadOptions/memoryBudget``). A reference type so the
/// zip reader and the storage resolver share one count.
final class LoadBudget: @unchecked Sendable {
    let limit: Int
    private(set) var used = 0

    init(limit: Int) { self.limit = max(0, limit) }

    /// Records an allocation of `bytes` for `what`, before it is made.
    /// - Throws: ``EmberIOError/Kind/limitExceeded`` naming `what` when the total would pass the limit.
    func charge(_ bytes: Int, for what: String) throws {
        let (total, overflow) = used.addingReportingOverflow(bytes)
        guard bytes >= 0, !overflow, total <= limit else {
            throw EmberIOError(.limitExceeded,
                "\(what) needs \(bytes) bytes, past the load's memory budget of \(limit) bytes "
                + "(PthLoadOptions.memoryBudget; the default is \(PthLoadOptions.defaultBudgetMultiple) × the file size "
                + "+ \(PthLoadOptions.defaultBudgetSlack >> 20) MiB)")
        }
        used = total
    }

    /// Checks that one tensor's logical size fits the budget (nothing is charged: views share storage).
    func checkLogical(_ t: TensorRecord, path: String) throws {
        let (bytes, overflow) = t.elementCount.multipliedReportingOverflow(by: t.dtype.itemSize)
        guard !overflow, bytes <= limit else {
            throw EmberIOError(.limitExceeded,
                "\(path.isEmpty ? "the saved tensor" : "tensor at key \(path)") of shape \(t.shape), stride \(t.strides) "
                + "addresses \(overflow ? "more than 2^63" : String(bytes)) bytes, past the load's memory budget of \(limit) bytes "
                + "(PthLoadOptions.memoryBudget)")
        }
    }
}
