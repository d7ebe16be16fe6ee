using System.Text.Json;

namespace ParallelFlow.Engine.Plans;

/// <summary>The kind of value a plan input takes.</summary>
#pragma warning disable CA1720 // The members are the plan format's type names: string, number, boolean, object, array.
public enum PlanInputType
{
    /// <summary>Text.</summary>
    String,

    /// <summary>A number.</summary>
    Number,

    /// <summary>True or false.</summary>
    Boolean,

    /// <summary>A JSON object.</summary>
    Object,

    /// <summary>A JSON list.</summary>
    Array,
}
#pragma warning restore CA1720

/// <summary>
/// A value a plan takes per run (<c>inputs</c> in a plan file): tasks use it as <c>{{inputs.NAME}}</c> in their
/// <c>with</c>. A run supplies it (<see cref="Execution.RunOptions.Inputs"/>, <c>--input NAME=VALUE</c>); an input a run
/// leaves out takes its <see cref="Default"/>, and one with no default is required.
/// </summary>
/// <param name="Name">The name tasks use.</param>
/// <param name="Type">The kind of value it takes.</param>
public sealed record PlanInput(string Name, PlanInputType Type)
{
    /// <summary>Whether a run must supply it. An input with no default is always required.</summary>
    public bool Required { get; init; }

    /// <summary>The value a run that leaves it out gets, or null for none.</summary>
    public JsonElement? Default { get; init; }

    /// <summary>What the input is for; shown by <c>parallelflow plan</c> and in errors about it.</summary>
    public string Description { get; init; } = string.Empty;

    /// <summary>Whether a run that leaves it out is refused.</summary>
    public bool IsRequired => Required || Default is null;
}
