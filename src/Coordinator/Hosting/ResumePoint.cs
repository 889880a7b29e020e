using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Runs;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// Where <c>mmcluster coordinator --resume</c> continues: the stage to start at, the schedule with that stage's
/// <see cref="StageConfig.ResumeFrom"/> set, the ledger to restore (null: the stage starts fresh), the first generation
/// (above every generation of the journal, so older workers and collectives are fenced) and what it was read from.
/// </summary>
public sealed record ResumePoint(int StartAt, IReadOnlyList<StageConfig> Configs, LedgerSnapshot? Ledger, long Generation, string Source);
