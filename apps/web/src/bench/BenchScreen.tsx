export function BenchScreen(_: { query: URLSearchParams }) {
  return <div class="boot">Benchmark</div>;
}
