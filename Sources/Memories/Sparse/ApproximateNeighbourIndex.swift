import CQuantisedScan
import DNCNumerics

/// Settings of `ApproximateNeighbourIndex`.
public struct ApproximateIndexOptions: Hashable, Sendable {
    /// Number of inverted lists (coarse cells); nil = ⌈√N⌉.
    public var lists: Int?
    /// Lists probed per query (the nearest centroids to the query). 32 by measurement (`dnc-bench
    /// --only index`): recall@4 0.7–0.9 on Gaussian rows, 1.0 on clustered ones, 10 k–1 M rows;
    /// 96 reach 0.91 on 1 M Gaussian rows at about 2.5× the time of 32 (README, the indexes on
    /// full memories). Kept at 32 so that a SAM step's search stays cheap on structured memories.
    public var probes: Int
    /// Spherical k-means iterations per rebuild (on a sample of at most 32 rows per list).
    public var kMeansIterations: Int
    /// Below this many stored rows the index is one flat list (an exact scan).
    public var minimumBuildSize: Int
    /// Rows the four-bit first pass keeps for the exact re-ranking (at least k); ≥ the stored
    /// rows makes every scanned row re-ranked exactly.
    public var shortlist: Int

    public init(lists: Int? = nil, probes: Int = 32, kMeansIterations: Int = 6, minimumBuildSize: Int = 512,
                shortlist: Int = 32) {
        self.lists = lists
        self.probes = probes
        self.kMeansIterations = kMeansIterations
        self.minimumBuildSize = minimumBuildSize
        self.shortlist = shortlist
    }
}

/// Approximate cosine k-NN: an inverted-file index (IVF) over unit-scaled rows, with centroids
/// learnt from the memory's own rows (spherical k-means), not from random data (docs/pytorch-dnc.md, Index trained on random data).
///
/// * Insert/replace/remove: O(L·W) to find the nearest of the L centroids, O(1) list update.
/// * Query: score the L centroids, scan the `probes` nearest lists: O((L + P·N/L)·W), i.e.
///   O(√N·W) with the default L = √N.
/// * Rebuild (`rebuildIfNeeded`): when the stored rows first reach `minimumBuildSize`, then
///   whenever the insertions since the last build reach the row count at that build (doubling
///   while the memory fills, then every ~N insertions): k-means on a sample, then every row is
///   reassigned — O(N·L·W), amortised O(L·W) per insertion. A rebuild is a deterministic
///   function of the stored content, so a redo reproduces it bit for bit.
/// * Reset: O(L).
///
/// Each list keeps its rows' unit vectors contiguously (as FAISS's inverted lists do), and beside
/// them four-bit codes of the same vectors (`QuantisedRows`: W/2 bytes and a scale per row). A query
/// scans the probed lists' codes (an eighth of the bytes of Float vectors; the scan is bound by
/// memory bandwidth), keeps the `shortlist` best rows by that approximate score, and re-ranks
/// those exactly with their unit vectors. The codes are a function of the unit vectors, so a
/// rebuild, an undo and a redo reproduce them bit for bit, and the integer scan gives the same
/// scores on every path.
public final class ApproximateNeighbourIndex<T: Real>: NearestNeighbourIndex, @unchecked Sendable {
    public typealias Scalar = T
    public let width: Int
    public let capacity: Int
    public let options: ApproximateIndexOptions
    public let listCount: Int
    public private(set) var entriesVisited = 0
    /// Work of all rebuilds (vector·centroid products), for the cost accounting.
    public private(set) var rebuildWork = 0
    public private(set) var rebuilds = 0
    /// Stored ids as a sparse set (O(1) reset).
    private let memberSlot: UnsafeMutablePointer<Int>
    private let members: UnsafeMutablePointer<Int>
    public private(set) var count = 0
    private let listOf: UnsafeMutablePointer<Int>
    private let positionInList: UnsafeMutablePointer<Int>
    /// Number of centroids in use: 0 before the first build (one flat list, index 0).
    public private(set) var built = 0
    /// The centroids by column (W × L, centroid l is column l): a vector's scores against them
    /// are then the plain product (1 × W)·(W × L), which OpenBLAS does in about a third of the
    /// time of the same scores as (1 × W)·(L × W)ᵀ (4.1 against 13.4 µs for L = 1 000, W = 32,
    /// one thread). Every score of a vector against the centroids (queries, inserts, the
    /// rebuild's reassignment) goes through `scoreCentroids`.
    private var centroidColumns: [T]
    private var lists: [[Int]]
    /// Unit vectors of each list's rows, in list order (W per row).
    private var listVectors: [[T]]
    /// Four-bit codes of each list's rows (`codeBytes` per row) and their scales, in list order.
    private var listCodes: [[UInt8]]
    private var listScales: [[Float]]
    /// Codes per row (the width padded, `QuantisedRows.paddedWidth`) and the bytes they take.
    private let codeWidth: Int
    private let codeBytes: Int
    /// How the codes are scored (`QuantisedRows.kernel`: the fastest this CPU has, unless
    /// `DNC_INDEX_SCAN` says otherwise); every kernel gives the same scores.
    private let scanKernel: QuantisedRows.Kernel
    private var codeScratch: [UInt8]
    private var quantisedQuery: QuantisedRows.Query
    private var shortScores: [Float] = [], shortIds: [Int] = []
    private var unitScratch: [T]
    private var insertionsSinceBuild = 0
    private var countAtBuild = 0
    private var scores: [T] = []
    /// One probed list's scores.
    private var listScores: [Float] = []
    /// Row numbers (within the list) of the scores the first pass keeps.
    private var listRows: [Int32] = []
    /// The ids of those rows.
    private var listIds: [Int] = []
    /// The shortlist's rows (list, position) and exact scores.
    private var candidateRows: [(Int, Int)] = []
    private var exactScores: [T] = []
    private var topScores: [T] = [], topIds: [Int] = []
    /// Lists of the rows most recently filed or replaced, so that a rollback (`undoInsert`) and
    /// the model's redo of the same writes find a row's list without scoring every centroid.
    private var recentLists: RecentListAssignments<T>
    /// Centroid scans made by inserts (the work `recentLists` saves; tests count it).
    public private(set) var centroidScans = 0

    public init(capacity: Int, width: Int, options: ApproximateIndexOptions = ApproximateIndexOptions()) {
        self.capacity = capacity
        self.width = width
        self.options = options
        listCount = Swift.max(1, Swift.min(options.lists ?? Int(Double(capacity).squareRoot().rounded(.up)), capacity))
        let n = Swift.max(capacity, 1)
        memberSlot = .allocate(capacity: n); memberSlot.initialize(repeating: Int.max, count: n)
        members = .allocate(capacity: n)
        listOf = .allocate(capacity: n)
        positionInList = .allocate(capacity: n)
        centroidColumns = Array(repeating: 0, count: listCount * width)
        lists = [[]]
        listVectors = [[]]
        listCodes = [[]]
        listScales = [[]]
        codeWidth = QuantisedRows.paddedWidth(width)
        codeBytes = QuantisedRows.bytes(paddedWidth: codeWidth)
        scanKernel = QuantisedRows.kernel(paddedWidth: codeWidth)
        codeScratch = Array(repeating: 0, count: codeBytes)
        quantisedQuery = QuantisedRows.Query(paddedWidth: codeWidth)
        unitScratch = Array(repeating: 0, count: width)
        recentLists = RecentListAssignments(width: width)
    }

    deinit {
        memberSlot.deallocate(); members.deallocate()
        listOf.deallocate(); positionInList.deallocate()
    }

    public func reset() {
        count = 0
        built = 0
        insertionsSinceBuild = 0
        countAtBuild = 0
        recentLists.removeAll()
        for i in 0..<lists.count {
            lists[i].removeAll(keepingCapacity: true); listVectors[i].removeAll(keepingCapacity: true)
            listCodes[i].removeAll(keepingCapacity: true); listScales[i].removeAll(keepingCapacity: true)
        }
    }

    public func contains(_ id: Int) -> Bool {
        let s = memberSlot[id]
        return s < count && members[s] == id
    }

    /// `out[i·built + l] = vectors[i] · centroid l` for `rows` vectors of width W, always in
    /// OpenBLAS (whatever `DNC_SMALL_GEMM` says), so that a list assignment does not depend on it.
    private func scoreCentroids(_ vectors: UnsafePointer<T>, rows: Int, into out: UnsafeMutablePointer<T>) {
        centroidColumns.withUnsafeBufferPointer { c in
            Kernels.gemm(m: rows, n: built, k: width, a: vectors, b: c.baseAddress!, beta: 0, c: out, path: .openblas)
        }
    }

    /// Nearest list of a unit vector (0 before the first build): one product with the centroids
    /// (the first of the best on ties, as the rebuild's assignment).
    private func nearestList(_ v: UnsafePointer<T>) -> Int {
        guard built > 0 else { return 0 }
        centroidScans += 1
        if scores.count < listCount { scores = Array(repeating: 0, count: listCount) }
        return scores.withUnsafeMutableBufferPointer { sc in
            scoreCentroids(v, rows: 1, into: sc.baseAddress!)
            var best = 0
            for l in 1..<built where sc[l] > sc[best] { best = l }
            return best
        }
    }

    private func detach(_ id: Int) {
        let l = listOf[id], p = positionInList[id], w = width
        let last = lists[l].count - 1
        if p != last {
            let moved = lists[l][last]
            lists[l][p] = moved
            positionInList[moved] = p
            listVectors[l].withUnsafeMutableBufferPointer { v in
                (v.baseAddress! + p * w).update(from: v.baseAddress! + last * w, count: w)
            }
            let cw = codeBytes
            listCodes[l].withUnsafeMutableBufferPointer { c in
                (c.baseAddress! + p * cw).update(from: c.baseAddress! + last * cw, count: cw)
            }
            listScales[l][p] = listScales[l][last]
        }
        lists[l].removeLast()
        listVectors[l].removeLast(w)
        listCodes[l].removeLast(codeBytes)
        listScales[l].removeLast()
    }

    /// Files `id` with unit vector `v` under its nearest list (`list` when given).
    private func attach(_ id: Int, unit v: UnsafePointer<T>, list: Int? = nil) {
        let l = list ?? nearestList(v)
        listOf[id] = l
        positionInList[id] = lists[l].count
        lists[l].append(id)
        listVectors[l].append(contentsOf: UnsafeBufferPointer(start: v, count: width))
        let scale = codeScratch.withUnsafeMutableBufferPointer {
            QuantisedRows.encode(v, width: width, paddedWidth: codeWidth, into: $0.baseAddress!)
        }
        listCodes[l].append(contentsOf: codeScratch)
        listScales[l].append(scale)
    }

    /// The unit vector of a stored row, in its list.
    private func unitVector(_ id: Int, into out: UnsafeMutablePointer<T>) {
        let w = width, p = positionInList[id]
        listVectors[listOf[id]].withUnsafeBufferPointer { out.update(from: $0.baseAddress! + p * w, count: w) }
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func insert(id: Int, vector: UnsafePointer<T>) {
        precondition(id >= 0 && id < capacity, "row \(id) out of range 0..<\(capacity)")
        if contains(id) {
            // The replaced content and its list: what a rollback of this insert will re-insert.
            if built > 0 {
                let (l, p) = (listOf[id], positionInList[id])
                listVectors[l].withUnsafeBufferPointer { recentLists.remember(id: id, vector: $0.baseAddress! + p * width, list: l) }
            }
            detach(id)
        } else {
            memberSlot[id] = count; members[count] = id; count += 1
        }
        unitScratch.withUnsafeMutableBufferPointer { u in
            normalise(vector, into: u.baseAddress!, width: width)
            var list = 0
            if built > 0 {
                // A row's list is a function of its unit vector and the centroids: a content filed
                // since the last rebuild (a redo, or a rollback to the replaced content) keeps it.
                if let known = recentLists.list(id: id, vector: u.baseAddress!) { list = known } else {
                    list = nearestList(u.baseAddress!)
                    recentLists.remember(id: id, vector: u.baseAddress!, list: list)
                }
            }
            attach(id, unit: u.baseAddress!, list: list)
        }
        insertionsSinceBuild += 1
    }

    public func remove(id: Int) {
        guard contains(id) else { return }
        detach(id)
        let s = memberSlot[id], last = count - 1
        if s != last { let moved = members[last]; members[s] = moved; memberSlot[moved] = s }
        count -= 1
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func undoInsert(id: Int, previous: UnsafePointer<T>?) {
        if let previous { insert(id: id, vector: previous); insertionsSinceBuild -= 1 } else { remove(id: id) }
        insertionsSinceBuild -= 1
    }

    /// Whether `rebuildIfNeeded` would rebuild now.
    public var needsRebuild: Bool {
        count >= options.minimumBuildSize && count >= listCount
            && (built == 0 || insertionsSinceBuild >= Swift.max(countAtBuild, options.minimumBuildSize))
    }

    /// Rows in list `l`, and the rows its storage has room for (tests of the rebuild's memory).
    func rows(ofList l: Int) -> Int { l < lists.count ? lists[l].count : 0 }
    func reservedRows(ofList l: Int) -> Int { l < listVectors.count ? listVectors[l].capacity / Swift.max(width, 1) : 0 }

    /// Rebuilds when due; returns whether it did.
    @discardableResult
    public func rebuildIfNeeded() -> Bool {
        guard needsRebuild else { return false }
        rebuild()
        return true
    }

    /// Spherical k-means on a deterministic sample (stored ids in increasing order, evenly
    /// strided), then reassignment of every stored row.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func rebuild() {
        let w = width, lc = listCount
        rebuilds += 1
        var ids: [Int] = []
        ids.reserveCapacity(count)
        for s in 0..<count { ids.append(members[s]) }
        ids.sort()
        // Every stored unit vector, in increasing id order.
        var units = [T](repeating: 0, count: ids.count * w)
        units.withUnsafeMutableBufferPointer { u in
            for (i, id) in ids.enumerated() { unitVector(id, into: u.baseAddress! + i * w) }
        }
        let sampleCount = Swift.min(ids.count, 32 * lc)
        let sample = (0..<sampleCount).map { $0 * ids.count / sampleCount }
        var c = [T](repeating: 0, count: lc * w)
        for l in 0..<lc {
            let i = sample[l * sampleCount / lc]
            for j in 0..<w { c[l * w + j] = units[i * w + j] }
        }
        var points = [T](repeating: 0, count: sampleCount * w)
        for (n, i) in sample.enumerated() { for j in 0..<w { points[n * w + j] = units[i * w + j] } }
        var dots = [T](repeating: 0, count: sampleCount * lc)
        var assignment = [Int](repeating: 0, count: sampleCount)
        for iteration in 0...options.kMeansIterations {
            Kernels.gemm(transB: true, m: sampleCount, n: lc, k: w, a: points, b: c, beta: 0, c: &dots)
            rebuildWork += sampleCount * lc
            for i in 0..<sampleCount {
                var best = 0
                for l in 1..<lc where dots[i * lc + l] > dots[i * lc + best] { best = l }
                assignment[i] = best
            }
            if iteration == options.kMeansIterations { break }
            var sums = [T](repeating: 0, count: lc * w)
            for i in 0..<sampleCount { for j in 0..<w { sums[assignment[i] * w + j] += points[i * w + j] } }
            for l in 0..<lc {
                var norm: T = 0
                for j in 0..<w { norm += sums[l * w + j] * sums[l * w + j] }
                guard norm > 0 else { continue }  // empty cluster keeps its centroid
                let inverse = 1 / norm.squareRoot()
                for j in 0..<w { c[l * w + j] = sums[l * w + j] * inverse }
            }
        }
        for l in 0..<lc { for j in 0..<w { centroidColumns[j * lc + l] = c[l * w + j] } }
        built = lc
        recentLists.removeAll()
        if lists.count < lc {
            lists += Array(repeating: [], count: lc - lists.count)
            listVectors += Array(repeating: [], count: lc - listVectors.count)
            listCodes += Array(repeating: [], count: lc - listCodes.count)
            listScales += Array(repeating: [], count: lc - listScales.count)
        }
        // A list keeps its storage only when it is not far larger than a list after this build: the
        // flat list before the first build holds every row, and keeping it would leave a second
        // copy of all the unit vectors allocated (+190 MiB at 1M rows of width 32, Float).
        let expected = 2 * (count / Swift.max(lc, 1)) + 64
        for l in 0..<lists.count {
            let keep = lists[l].capacity <= 2 * expected
            lists[l].removeAll(keepingCapacity: keep)
            listVectors[l].removeAll(keepingCapacity: keep)
            listCodes[l].removeAll(keepingCapacity: keep)
            listScales[l].removeAll(keepingCapacity: keep)
        }
        // Reassign every stored row, in chunks, in increasing id order (deterministic lists).
        let chunk = 1024
        var block = [T](repeating: 0, count: chunk * w), blockDots = [T](repeating: 0, count: chunk * lc)
        var start = 0
        while start < ids.count {
            let n = Swift.min(chunk, ids.count - start)
            for i in 0..<n { for j in 0..<w { block[i * w + j] = units[(start + i) * w + j] } }
            block.withUnsafeBufferPointer { b in
                blockDots.withUnsafeMutableBufferPointer { scoreCentroids(b.baseAddress!, rows: n, into: $0.baseAddress!) }
            }
            rebuildWork += n * lc
            units.withUnsafeBufferPointer { u in
                for i in 0..<n {
                    var best = 0
                    for l in 1..<lc where blockDots[i * lc + l] > blockDots[i * lc + best] { best = l }
                    attach(ids[start + i], unit: u.baseAddress! + (start + i) * w, list: best)
                }
            }
            start += n
        }
        insertionsSinceBuild = 0
        countAtBuild = count
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public func search(query: UnsafePointer<T>, k: Int, results: UnsafeMutablePointer<Int>) -> Int {
        guard count > 0, k > 0 else { return 0 }
        let w = width
        if topScores.count < k { topScores = Array(repeating: 0, count: k); topIds = Array(repeating: 0, count: k) }
        let probes = Swift.min(options.probes, Swift.max(built, 1))
        if scores.count < Swift.max(probes, listCount) { scores = Array(repeating: 0, count: Swift.max(probes, listCount)) }
        var probeLists = [Int](repeating: 0, count: probes)
        if built > 0 {
            scores.withUnsafeMutableBufferPointer { sc in
                scoreCentroids(query, rows: 1, into: sc.baseAddress!)
                var best = [T](repeating: 0, count: probes)
                best.withUnsafeMutableBufferPointer { bs in
                    probeLists.withUnsafeMutableBufferPointer { pl in
                        var top = TopK(k: probes, scores: bs.baseAddress!, ids: pl.baseAddress!)
                        if let bound = kthBestLowerBound(sc.baseAddress!, count: built, k: probes) {
                            for l in 0..<built where !(sc[l] < bound) { top.offer(sc[l], l) }
                        } else {
                            for l in 0..<built { top.offer(sc[l], l) }
                        }
                    }
                }
            }
            entriesVisited += built
        }
        var longest = 0
        for l in probeLists { longest = Swift.max(longest, lists[l].count) }
        if listScores.count < longest {
            listScores = Array(repeating: 0, count: longest); listRows = Array(repeating: 0, count: longest)
            listIds = Array(repeating: 0, count: longest)
        }
        let shortlist = Swift.max(k, options.shortlist)
        if shortScores.count < shortlist { shortScores = Array(repeating: 0, count: shortlist); shortIds = Array(repeating: 0, count: shortlist) }
        quantisedQuery.set(query, width: w)
        // First pass: the probed lists' codes; only scores that beat the shortlist's last are offered.
        let candidates = shortScores.withUnsafeMutableBufferPointer { ss in
            shortIds.withUnsafeMutableBufferPointer { si in
                listScores.withUnsafeMutableBufferPointer { sc in listRows.withUnsafeMutableBufferPointer { ri in
                  listIds.withUnsafeMutableBufferPointer { ki in
                    var short = TopK(k: shortlist, scores: ss.baseAddress!, ids: si.baseAddress!)
                    for (p, l) in probeLists.enumerated() {
                        // The next list's first codes are fetched from memory while this one is scored.
                        if p + 1 < probeLists.count { listCodes[probeLists[p + 1]].withUnsafeBufferPointer { dnc_scan_prefetch($0.baseAddress, Int64($0.count)) } }
                        lists[l].withUnsafeBufferPointer { members in
                            guard !members.isEmpty else { return }
                            listCodes[l].withUnsafeBufferPointer { codes in
                                listScales[l].withUnsafeBufferPointer { scales in
                                    // Only rows that beat the shortlist's last score as it stands
                                    // can enter it (it only rises): most rows stop in the kernel,
                                    // and their ids (8 bytes a row) are never read.
                                    let threshold = short.count < shortlist ? -Float.infinity : ss[shortlist - 1]
                                    var kept = QuantisedRows.scoreAbove(codes: codes.baseAddress!, scales: scales.baseAddress!,
                                                                        rows: members.count, paddedWidth: codeWidth,
                                                                        query: quantisedQuery, kernel: scanKernel, threshold: threshold,
                                                                        scores: sc.baseAddress!, indices: ri.baseAddress!)
                                    // The first list scanned passes whole (no threshold yet): offer
                                    // only the rows that can be among its `shortlist` best.
                                    if let bound = kthBestLowerBound(sc.baseAddress!, count: kept, k: shortlist) {
                                        var passing = 0
                                        for c in 0..<kept where !(sc[c] < bound) {
                                            sc[passing] = sc[c]; ri[passing] = ri[c]; passing += 1
                                        }
                                        kept = passing
                                    }
                                    // The kept rows' ids in a loop of their own, so that their
                                    // loads (each likely a cache miss) overlap.
                                    for c in 0..<kept { ki[c] = members[Int(ri[c])] }
                                    for c in 0..<kept where short.count < shortlist || sc[c] >= ss[shortlist - 1] {
                                        short.offer(sc[c], ki[c])
                                    }
                                }
                            }
                            entriesVisited += members.count
                        }
                    }
                    return short.count
                  }
                } }
            }
        }
        // Second pass: the shortlist's exact scores with the unit vectors. Where each row is, its
        // score, and the selection in separate loops, so that the candidates' loads (at 1 M rows
        // each a cache miss) overlap instead of waiting one behind the other's comparisons.
        if exactScores.count < candidates { exactScores = Array(repeating: 0, count: candidates); candidateRows = Array(repeating: (0, 0), count: candidates) }
        for c in 0..<candidates { let id = shortIds[c]; candidateRows[c] = (listOf[id], positionInList[id]) }
        for c in 0..<candidates {
            let (l, p) = candidateRows[c]
            exactScores[c] = listVectors[l].withUnsafeBufferPointer { v in
                let row = v.baseAddress! + p * w
                var sum: T = 0
                for j in 0..<w { sum += query[j] * row[j] }
                return sum
            }
        }
        return topScores.withUnsafeMutableBufferPointer { ts in
            topIds.withUnsafeMutableBufferPointer { ti in
                var top = TopK(k: k, scores: ts.baseAddress!, ids: ti.baseAddress!)
                for c in 0..<candidates { top.offer(exactScores[c], shortIds[c]) }
                results.update(from: ti.baseAddress!, count: top.count)
                return top.count
            }
        }
    }

    public func storedVector(_ id: Int) -> [T]? {
        guard contains(id) else { return nil }
        var v = [T](repeating: 0, count: width)
        v.withUnsafeMutableBufferPointer { unitVector(id, into: $0.baseAddress!) }
        return v
    }

    public func copy() -> any NearestNeighbourIndex<T> {
        let c = ApproximateNeighbourIndex(capacity: capacity, width: width, options: options)
        c.count = count
        c.members.update(from: members, count: count)
        for s in 0..<count {
            let id = members[s]
            c.memberSlot[id] = s
            c.listOf[id] = listOf[id]; c.positionInList[id] = positionInList[id]
        }
        c.built = built; c.centroidColumns = centroidColumns; c.lists = lists; c.listVectors = listVectors
        c.listCodes = listCodes; c.listScales = listScales
        c.recentLists = recentLists; c.centroidScans = centroidScans
        c.insertionsSinceBuild = insertionsSinceBuild; c.countAtBuild = countAtBuild
        c.entriesVisited = entriesVisited; c.rebuildWork = rebuildWork; c.rebuilds = rebuilds
        return c
    }

    /// Same ids, bit-identical vectors, same centroids and the same list for every id (the order
    /// inside a list does not matter: searches break ties by id).
    public func contentsEqual(_ other: any NearestNeighbourIndex<T>) -> Bool {
        guard let o = other as? ApproximateNeighbourIndex<T>, o.count == count, o.width == width, o.built == built,
              o.insertionsSinceBuild == insertionsSinceBuild, o.countAtBuild == countAtBuild else { return false }
        for i in 0..<(built * width) where !bitIdentical(centroidColumns[i], o.centroidColumns[i]) { return false }
        for s in 0..<count {
            let id = members[s]
            guard o.contains(id), o.listOf[id] == listOf[id] else { return false }
            let (a, b) = (storedVector(id)!, o.storedVector(id)!)
            for j in 0..<width where !bitIdentical(a[j], b[j]) { return false }
            let (ca, cb) = (storedCodes(id)!, o.storedCodes(id)!)
            guard ca.codes == cb.codes, ca.scale.bitPattern == cb.scale.bitPattern else { return false }
        }
        return true
    }

    /// The four-bit codes (packed, `codeBytes`) and scale filed for a stored row (tests).
    func storedCodes(_ id: Int) -> (codes: [UInt8], scale: Float)? {
        guard contains(id) else { return nil }
        let l = listOf[id], p = positionInList[id]
        return (Array(listCodes[l][(p * codeBytes)..<((p + 1) * codeBytes)]), listScales[l][p])
    }

    /// Whether every stored row's codes are those of its unit vector (tests: the swaps of a removal
    /// move codes, scales and vectors together).
    func codesMatchVectors() -> Bool {
        var codes = [UInt8](repeating: 0, count: codeBytes)
        for s in 0..<count {
            let id = members[s], stored = storedCodes(id)!
            let scale = storedVector(id)!.withUnsafeBufferPointer { v in
                codes.withUnsafeMutableBufferPointer { QuantisedRows.encode(v.baseAddress!, width: width, paddedWidth: codeWidth, into: $0.baseAddress!) }
            }
            guard codes == stored.codes, scale.bitPattern == stored.scale.bitPattern,
                  lists[listOf[id]][positionInList[id]] == id else { return false }
        }
        return true
    }
}
