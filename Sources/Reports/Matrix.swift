/// A 2-D array of values shown as one heatmap panel, row-major, with block-mean downsampling
/// for tensors too large to show one value per pixel group.
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let columns: Int
    public var values: [Float]

    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "\(rows)×\(columns) matrix needs \(rows * columns) values, got \(values.count)")
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    public subscript(row: Int, column: Int) -> Float { values[row * columns + column] }

    /// The transpose.
    public var transposed: Matrix {
        var out = [Float](repeating: 0, count: values.count)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = values[r * columns + c] } }
        return Matrix(rows: columns, columns: rows, values: out)
    }

    /// Means of rowFactor × columnFactor blocks (the last blocks may be smaller); non-finite
    /// values are left out of a mean, and a block with none finite is NaN.
    public func blockMean(rows rowFactor: Int, columns columnFactor: Int) -> Matrix {
        guard rowFactor > 1 || columnFactor > 1 else { return self }
        let outRows = (rows + rowFactor - 1) / rowFactor, outColumns = (columns + columnFactor - 1) / columnFactor
        var sums = [Double](repeating: 0, count: outRows * outColumns)
        var counts = [Int](repeating: 0, count: outRows * outColumns)
        for r in 0..<rows {
            let base = (r / rowFactor) * outColumns
            for c in 0..<columns {
                let v = values[r * columns + c]
                if v.isFinite { sums[base + c / columnFactor] += Double(v); counts[base + c / columnFactor] += 1 }
            }
        }
        return Matrix(rows: outRows, columns: outColumns,
                      values: zip(sums, counts).map { $1 > 0 ? Float($0 / Double($1)) : .nan })
    }

    /// The smallest and largest finite values, nil when there are none.
    public var finiteRange: (low: Double, high: Double)? {
        var low = Double.infinity, high = -Double.infinity
        for v in values where v.isFinite { low = min(low, Double(v)); high = max(high, Double(v)) }
        return low <= high ? (low, high) : nil
    }

    /// How many values are NaN or infinite.
    public var nonFiniteCount: Int { values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
}
