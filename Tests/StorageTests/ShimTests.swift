import CDNCShim
import XCTest

/// The C shim without `mpirun`: a process that never initialised MPI is a world of one.
final class ShimTests: XCTestCase {
    func testMPIWithoutInitIsAWorldOfOne() {
        XCTAssertEqual(dnc_mpi_initialized(), 0)
        XCTAssertEqual(dnc_mpi_rank(), 0)
        XCTAssertEqual(dnc_mpi_size(), 1)
        XCTAssertEqual(dnc_mpi_barrier(), 0)
        var floats: [Float] = [1, 2, 3]
        XCTAssertEqual(dnc_mpi_allreduce_sum_f32(&floats, Int64(floats.count)), 0)
        XCTAssertEqual(floats, [1, 2, 3])
        var doubles: [Double] = [4, 5]
        XCTAssertEqual(dnc_mpi_bcast_f64(&doubles, 2, 0), 0)
        XCTAssertEqual(doubles, [4, 5])
        let start = dnc_mpi_wtime()
        XCTAssertGreaterThanOrEqual(dnc_mpi_wtime(), start)
    }

    func testHDF5ConstantsAreValid() {
        XCTAssertNotEqual(dnc_h5f_acc_trunc(), dnc_h5f_acc_excl())
        XCTAssertGreaterThan(dnc_h5t_native_float(), 0)
        XCTAssertGreaterThan(dnc_h5t_native_double(), 0)
        XCTAssertGreaterThan(dnc_h5t_native_int64(), 0)
        XCTAssertGreaterThan(dnc_h5t_c_s1(), 0)
        XCTAssertGreaterThan(dnc_h5p_link_create(), 0)
        XCTAssertEqual(dnc_h5_silence_errors(), 0)
        var buffer = [CChar](repeating: 65, count: 8)
        XCTAssertEqual(dnc_h5_error_message(&buffer, buffer.count), 0)  // empty stack
        XCTAssertEqual(buffer[0], 0)
    }
}
