export function Brand() {
  return (
    <div class="brand">
      <img src="/favicon.svg" alt="" />
      Hearth
    </div>
  );
}
