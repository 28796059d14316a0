/// `print(tensor)` prints exactly what PyTorch's `repr(tensor)` prints (see Printing/).

extension Tensor: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        let options = PrintOptions.current
        var values: TensorPrintValues = .none
        if !isMeta {
            // Only the printed elements are copied when PyTorch would summarise.
            var source = self.detach()
            if let grid = options.summarizedIndices(shape: shape) {
                for (d, idx) in grid.enumerated() {
                    source = source.indexSelect(d, Tensor(array: idx.map { Int64($0) }, shape: [idx.count]))
                }
            }
            if dtype.isFloatingPoint { values = .floating(source.toDoubles()) }
            else if dtype == .bool { values = .boolean(source.toBools()) }
            else { values = .integer(source.toInt64s()) }
        }
        let input = TensorPrintInput(shape: shape, dtype: dtype, values: values, device: device,
                                     requiresGrad: requiresGrad, gradFnName: gradFn?.name, isParameter: isParameter)
        return formatTensor(input, options: options)
    }

    public var debugDescription: String { description }
}

/// `torch.Size`-style printing of a shape: `formatSize(t.shape)` gives `torch.Size([2, 6, 2])`.
extension Tensor {
    /// The shape as PyTorch prints `tensor.shape`.
    public var sizeDescription: String { formatSize(shape) }
}
