/** `backup.files` → `validateBackupFilesWith`: the export name of an action's generated validator. */
export function actionValidatorName(actionName: string): string {
  const words = actionName.split(/[.-]/).filter(Boolean);
  return `validate${words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}With`;
}
