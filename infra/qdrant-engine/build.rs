// Generates the gRPC server from the .proto files of the Go client the
// pipeline uses (copied from github.com/qdrant/go-client@v1.17.1, see
// proto/README.md), with protox: no protoc needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fds = protox::compile(["proto/qdrant.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
