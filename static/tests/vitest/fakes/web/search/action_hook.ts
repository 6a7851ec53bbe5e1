/** Outside the action service there is nothing to save the state for: a no-op. */
export function useSetupAction(_params: { getLocalState?: () => Record<string, unknown> }): void {}
