package trainer

// The tests train every registered recipe.
import _ "gogan/gan/all"
